"""One way to say who changed a record and why (issue 17.3): core.audit.audited.
No other code sets django-simple-history's private attributes, and a save through it
writes a historical row naming the person and the reason."""

import ast
from pathlib import Path

import pytest
from django.conf import settings

from core.audit import audited

PRIVATE = {"_history_user", "_change_reason"}


def _assignments_of_private_attributes(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        lines += [t.lineno for t in targets if isinstance(t, ast.Attribute) and t.attr in PRIVATE]
    return lines


def test_only_audited_sets_who_and_why():
    root = Path(settings.BASE_DIR)
    elsewhere = {
        f"{path.relative_to(root)}:{line}"
        for app in settings.PROJECT_APPS
        for path in (root / app).rglob("*.py")
        if path != root / "core" / "audit.py"
        for line in _assignments_of_private_attributes(path)
    }
    assert not elsewhere, f"use core.audit.audited instead: {sorted(elsewhere)}"


@pytest.mark.django_db
def test_a_save_through_audited_records_who_and_why(cast, service_user_a):
    service_user_a.preferred_name = "Al"
    audited(service_user_a, by=cast.prescriber, why="Asked to be called Al")
    service_user_a.save(update_fields=["preferred_name"])
    latest = service_user_a.history.latest("history_date")
    assert latest.history_user == cast.prescriber
    assert latest.history_change_reason == "Asked to be called Al"
    assert latest.preferred_name == "Al"
