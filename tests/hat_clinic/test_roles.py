"""One table of what each role may do (issue 17.3): ROLE_PERMISSIONS, synced to the
roles' groups after every migrate, so that a grant added or removed there is what
the database holds, and no migration grants anything itself."""

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from core.roles import ROLE_PERMISSIONS, Role, sync_role_permissions

pytestmark = pytest.mark.django_db


def _held() -> dict[str, set[str]]:
    return {
        group.name: {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }
        for group in Group.objects.prefetch_related("permissions")
    }


def test_after_migrate_each_role_holds_exactly_its_listed_permissions():
    held = _held()
    for role in Role:
        assert held[role.value] == set(ROLE_PERMISSIONS[role]), role


def test_a_grant_added_by_hand_is_taken_away_and_a_removed_one_given_back_by_the_sync():
    nurse = Group.objects.get(name=Role.NURSE.value)
    prescribe = Permission.objects.get(content_type__app_label="dosing", codename="prescribe")
    administer = Permission.objects.get(content_type__app_label="dosing", codename="administer")
    nurse.permissions.add(prescribe)
    nurse.permissions.remove(administer)
    sync_role_permissions()
    assert _held()[Role.NURSE.value] == set(ROLE_PERMISSIONS[Role.NURSE])


def test_migrate_syncs_the_roles(cast):
    Group.objects.get(name=Role.HCA.value).permissions.clear()
    call_command("migrate", verbosity=0)
    assert _held()[Role.HCA.value] == set(ROLE_PERMISSIONS[Role.HCA])


def test_a_name_that_matches_no_permission_stops_the_sync_and_is_named(monkeypatch):
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.HCA, ["dosing.observe", "dosing.fly_to_the_moon"])
    with pytest.raises(LookupError, match=r"dosing\.fly_to_the_moon"):
        sync_role_permissions()


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_no_migration_grants_a_role_anything():
    """The grants live in ROLE_PERMISSIONS alone: a migration that granted one would be
    overruled by the next sync, and would import live code."""
    root = Path(settings.BASE_DIR)
    granting = [
        str(path.relative_to(root))
        for app in settings.PROJECT_APPS
        for path in (root / app / "migrations").glob("*.py")
        if "core.roles" in _imported_modules(path)
    ]
    assert not granting, granting
