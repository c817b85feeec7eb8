"""Argon2 with the least work, for the test suite only (tests/conftest.py).

Production hashes with Django's Argon2 parameters (hat_clinic/settings.py; about
280 ms a hash here, by design). The suite checks a witness's or a login's password
thousands of times, so it hashes with the same algorithm at the smallest cost: the
hashes still read "argon2$...", and every check still runs Argon2 on the password
typed. tests/hat_clinic/test_settings.py holds the production setting."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 64  # KiB: argon2's least is 8 per lane
    parallelism = 1
