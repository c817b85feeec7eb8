"""Prescriptions, dose sessions and the controlled drugs register (to come)."""
