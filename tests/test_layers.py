"""Each layer of the package hands down and never reaches back up (docs/internals.md's map).

Read from the source: every ``from .x import`` / ``from ..x import`` of every module, at any
depth (lazy imports inside functions count as much as the ones at the top), is checked against
the layer order below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "django_sqlmigrate"

# Top first. A module may import its own layer's and lower layers' modules.
LAYERS: list[set[str]] = [
    {"apps", "__init__", "management", "admin", "admin_views", "checks", "migrate_hook"},
    {"operations", "numbering"},
    {"api"},
    {"routing"},
    {"executor"},
    {"planner"},
    {"messages"},
    {"recorder"},
    {"models", "namespaces", "dependencies"},
    {"backends"},
    {"loader"},
    {
        "splitter",
        "problems",
        "exceptions",
        "conf",
        "signals",
        "notices",
        "redact",
        "oserrors",
        "frozen",
    },
]
LAYER = {name: index for index, names in enumerate(LAYERS) for name in names}


def unit(path: Path) -> str:
    """The map's name for a module: its first component below the package."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imported_units(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = path.relative_to(PACKAGE).parent.parts  # the package path of this module's folder
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
            target = [*base, *(node.module.split(".") if node.module else [])]
            if target:
                found.add(target[0])
            else:  # from . import x (at the package's top): x is the module
                found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "django_sqlmigrate."
        ):
            found.add(node.module.split(".")[1])  # type: ignore[union-attr]
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_points_up(path: Path) -> None:
    own = unit(path)
    assert own in LAYER, f"{own} is on no layer of the map: add it to LAYERS and internals.md"
    upward = sorted(
        name for name in imported_units(path) - {own} if LAYER.get(name, -1) < LAYER[own]
    )
    assert upward == [], f"{path.relative_to(PACKAGE)} reaches up to {upward}"


def test_every_module_is_on_the_map() -> None:
    units = {unit(path) for path in MODULES} - {"templates", "static"}
    assert units <= set(LAYER)
