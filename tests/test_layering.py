"""Cards stay in their lane (after Home Assistant's hassfest).

- the kernel (`mobo/`) imports no card;
- a card imports only itself, the kernel, and the cards its manifest names
  (`depends_on`, or `after` for an optional relation).

Imports are read from the source (every `import` and `from … import`, including the
ones inside functions and under TYPE_CHECKING), so a lazy import cannot hide a coupling.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from mobo.kernel.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
COMPONENTS = ROOT / "components"


def imported_modules(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """Yield (line, absolute dotted module) for every import in one source file."""
    package = ".".join(path.relative_to(root).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield node.lineno, node.module or ""
                continue
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1])
            yield node.lineno, f"{base}.{node.module}" if node.module else base


def card_of(module: str) -> str | None:
    """Return the card a dotted module belongs to, or None when it is not a card's."""
    parts = module.split(".")
    return parts[1] if parts[0] == "components" and len(parts) > 1 else None


def violations(files: list[Path], allowed: set[str], root: Path = ROOT) -> list[str]:
    """List `file:line imports module` for each import of a card outside `allowed`."""
    found = []
    for path in files:
        for line, module in imported_modules(path, root):
            card = card_of(module)
            if card is not None and card not in allowed:
                found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return found


def test_kernel_imports_no_card() -> None:
    files = sorted((ROOT / "mobo").rglob("*.py"))
    assert violations(files, allowed=set()) == []


REGISTRY = Registry.discover(COMPONENTS)


@pytest.mark.parametrize("name", REGISTRY.names)
def test_card_imports_only_what_its_manifest_names(name: str) -> None:
    manifest = REGISTRY.get(name)
    allowed = {name, *manifest.depends_on, *getattr(manifest, "after", ())}
    files = sorted(manifest.path.rglob("*.py"))
    bad = violations(files, allowed)
    assert bad == [], (
        f"card {name!r} imports cards its manifest does not name "
        f"(add them to depends_on/after, or ask through the kernel):\n  " + "\n  ".join(bad)
    )


def test_the_checker_sees_relative_and_lazy_imports(tmp_path: Path) -> None:
    probe = tmp_path / "components" / "probe" / "sub.py"
    probe.parent.mkdir(parents=True)
    probe.write_text(
        "from ..datastore import query\n"
        "from . import own\n"
        "def f():\n"
        "    import components.realtime.rows\n"
    )
    bad = violations([probe], allowed={"probe"}, root=tmp_path)
    assert [b.split(" imports ")[1] for b in bad] == [
        "components.datastore",
        "components.realtime.rows",
    ]
