"""Imports go one way (issue 17.1): the import-linter contracts hold, they cover every
package of the project, and they see imports made inside functions."""

import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
from django.conf import settings

from core.hooks import Hooks

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["hat_clinic", "monitoring", "dosing", "alerts", "eligibility", "core"]


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def test_the_layers_run_from_the_wiring_down_to_core():
    contracts = {contract["type"]: contract for contract in _config()["contracts"]}
    assert contracts["layers"]["layers"] == LAYERS
    assert sorted(contracts["acyclic_siblings"]["ancestors"]) == sorted(LAYERS)


def test_every_package_of_the_project_is_in_a_layer():
    """A new app outside the contract would be free to import anything."""
    packages = {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"tests"} and not path.parent.name.startswith(".")
    }
    assert packages == set(LAYERS) == set(settings.PROJECT_APPS)
    assert sorted(_config()["root_packages"]) == sorted(LAYERS)


def test_the_contracts_hold():
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_the_graph_counts_imports_inside_functions():
    """dosing registers its panels inside AppConfig.ready(): the graph the contracts
    check holds that import, so an upward import hidden in a function breaks them."""
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*LAYERS)
    details = graph.get_import_details(importer="dosing.apps", imported="eligibility.panels")
    assert details, "the import inside DosingConfig.ready() is not in the graph"
    assert "from eligibility.panels import register" in details[0]["line_contents"]


def test_an_upper_layer_plugs_in_once_in_the_order_it_registered():
    hooks = Hooks()
    first, second = (lambda: 1), (lambda: 2)
    for function in (first, second, first):  # ready() may run again
        hooks.register(function)
    assert list(hooks) == [first, second]
