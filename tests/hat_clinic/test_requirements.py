"""Runtime and development pins are separate (issue 17.7): production installs only
requirements.txt, so the clinic's own code must import nothing from the test and
tooling pins, and those pins must stay out of the runtime file."""

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APPS = settings.PROJECT_APPS


def _pinned(file: str) -> set[str]:
    names = set()
    for line in (ROOT / file).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==", line.strip())
        if match:
            names.add(_normal(match.group(1).split("[")[0]))
    return names


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_level_modules() -> dict[str, str]:
    """Each top-level module the apps import (inside functions too), with one place."""
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_the_clinics_code_imports_only_runtime_pins():
    runtime = _pinned("requirements.txt")
    distributions = importlib.metadata.packages_distributions()
    ours = set(APPS)
    outside = []
    for module, where in sorted(_imported_top_level_modules().items()):
        if module in ours or module in sys.stdlib_module_names:
            continue
        names = {_normal(d) for d in distributions.get(module, [])}
        assert names, f"{module} (imported in {where}) belongs to no installed distribution"
        if not names & runtime:
            outside.append(f"{module} ({', '.join(sorted(names))}) in {where}")
    assert not outside, f"imported by the app but not pinned in requirements.txt: {outside}"


def test_the_test_and_tooling_pins_stay_out_of_the_runtime_file():
    runtime, dev = _pinned("requirements.txt"), _pinned("requirements-dev.txt")
    assert {"pytest", "playwright", "schemathesis", "ruff", "hypothesis"} <= dev
    assert not runtime & dev, f"pinned in both files: {sorted(runtime & dev)}"
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()
