"""Packages say where a rule lives (issue 17.2): no module of the project's packages
is over 500 lines, and no two models or choice sets share a name."""

import ast
import collections
from pathlib import Path

from django.apps import apps
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
MOST_LINES = 500


def _modules():
    for package in settings.PROJECT_APPS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_no_module_is_over_500_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _modules()
        if (lines := len(path.read_text().splitlines())) > MOST_LINES
    }
    assert not long, f"split these by feature (docs/architecture.md): {long}"


def test_no_two_models_share_a_name():
    names = collections.Counter(
        model.__name__
        for package in settings.PROJECT_APPS
        for model in apps.get_app_config(package).get_models(include_auto_created=True)
    )
    assert names, "no models found"
    assert not [name for name, n in names.items() if n > 1]


def test_no_two_choice_sets_share_a_name():
    """Two apps' Decision classes once meant different things under one name."""
    defined = collections.defaultdict(list)
    for path in _modules():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and any(
                getattr(base, "attr", getattr(base, "id", "")).endswith("Choices")
                for base in node.bases
            ):
                defined[node.name].append(str(path.relative_to(ROOT)))
    assert "SessionStatus" in defined  # the scan sees the choice sets
    assert not {name: where for name, where in defined.items() if len(where) > 1}


FIELD_REFERENCES = {"validators", "default"}


def test_no_migration_imports_the_projects_code():
    """A migration holds the schema and the data it moves (issue 17.3): the triggers
    and the roles' grants come from the registries after migrate. Code it ran would
    change under it as the project moves on. The references Django itself writes into
    a field's definition, to its validators and its callable default (neither is
    schema, nor run in making a new table), are not counted."""
    migrations = [
        path
        for package in settings.PROJECT_APPS
        for path in sorted((ROOT / package / "migrations").glob("0*.py"))
    ]
    assert len(migrations) >= 6, "the squashed migrations are found"
    running = {}
    for path in migrations:
        tree = ast.parse(path.read_text())
        imported = {}  # the name bound in the module: the project module it came from
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0]: alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                source = node.module or "" if node.level == 0 else "." * node.level
                imported |= {(alias.asname or alias.name): source for alias in node.names}
            elif isinstance(node, ast.Call):
                node.keywords = [k for k in node.keywords if k.arg not in FIELD_REFERENCES]
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        project = {
            name: source
            for name, source in imported.items()
            if name in used
            and (source.startswith(".") or source.split(".")[0] in settings.PROJECT_APPS)
        }
        if project:
            running[str(path.relative_to(ROOT))] = project
    assert not running, running
