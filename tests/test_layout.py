"""The package layout shows the flow, and imports run one way.

contract → rulebase → evaluation → authoring → report → the top level
(`Engine` in api.py, the CLI), with the service, the web app and the store on
top of that: a module may import from its own layer and the layers before it,
never after. Evaluation returns outcomes without texts, so nothing under
`evaluation/` imports `report/`; the subsystems use the public `Engine` API and
the contract, never the evaluation or the rule base beneath it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import roprules

PACKAGE = Path(roprules.__file__).parent
LAYERS = (
    "contract", "rulebase", "evaluation", "authoring", "report", "top", "subsystems", "cli"
)  # fmt: skip
SUBSYSTEMS = ("service", "store", "web")
# What the subsystems may use: the public API, the contract and the renderers.
SUBSYSTEM_MAY_USE = {"contract", "report", "top", "subsystems"}
# Known exceptions, each with the reason it is still there.
ALLOWED: set[tuple[str, str]] = set()


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "roprules":
        raise ValueError(module)
    if len(parts) == 1:
        return "top"
    if parts[1] in SUBSYSTEMS:
        return "subsystems"
    if parts[1] in LAYERS:
        return parts[1]
    if parts[1] == "cli":
        return "cli"  # the command line starts the subsystems too
    return "top"  # api, rules_tools


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every roprules module imported anywhere in the file, lazily or not."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("roprules"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "roprules" and [a.name for a in node.names] == ["__version__"]:
                continue  # the package's version is metadata, not a layer
            if node.module.startswith("roprules"):
                found.add(node.module)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_no_flat_modules_left_beside_the_layers():
    flat = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert flat == ["__init__", "api", "cli", "rules_tools"]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path: Path):
    mine = layer_of(module_name(path))
    for imported in imports_of(path):
        theirs = layer_of(imported)
        if (module_name(path), imported) in ALLOWED:
            continue
        if mine == "subsystems":
            assert theirs in SUBSYSTEM_MAY_USE, f"{path.name} imports {imported}"
        else:
            assert LAYERS.index(theirs) <= LAYERS.index(mine), (
                f"{module_name(path)} ({mine}) imports {imported} ({theirs})"
            )


def test_evaluation_never_imports_wording():
    for path in (PACKAGE / "evaluation").rglob("*.py"):
        for imported in imports_of(path):
            assert not imported.startswith("roprules.report"), (path.name, imported)
            assert imported != "roprules.contract.messages", (path.name, imported)


def test_public_names_unchanged():
    # `import roprules` exposes the same names as before the move (0.2.0).
    expected = {
        "Assessment", "BackendUnavailable", "Engine", "EngineError", "ErrorDetail",
        "Finding", "InputError", "MissingInfo", "OfferProfile", "Ranking",
        "ResidentProfile", "RulesetError",
    }  # fmt: skip
    assert expected <= set(roprules.__all__)
    code = "import json, roprules; print(json.dumps(roprules.__all__))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert set(json.loads(out.stdout)) >= expected
