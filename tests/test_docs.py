"""Things that must be documented are documented (after Datasette's tests/test_docs.py)."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

from mobo.events import EVENT_TYPES
from mobo.kernel.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EVENTS_DOC = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")


def registered_event_types() -> list[str]:
    """Return every event type: the kernel's, and those the cards' manifests declare."""
    Registry.discover(ROOT / "components")
    return sorted(EVENT_TYPES)


def documented_event_types() -> list[str]:
    """Return the types in the table of docs/events.md ("Event types")."""
    table = EVENTS_DOC.split("## Event types", 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `([a-z_.]+)` \|", table, flags=re.MULTILINE)


@functools.cache
def emitted_strings() -> set[str]:
    """String literals that name an emitted event type in mobo/ and components/: the type
    argument (first or second) of an emit call (`emit`, `emit_many`, `_emit`, …), or a
    module-level constant (a name, or a mapping of names) that the source uses elsewhere."""
    sources = [p for d in ("mobo", "components") for p in sorted((ROOT / d).rglob("*.py"))]
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in sources]
    used = {
        n.id
        for tree in trees
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    used |= {n.attr for tree in trees for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    found: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _is_emit(node.func):
                found |= {a.value for a in node.args[:2] if isinstance(a, ast.Constant)}
        for node in tree.body:  # constants: NAME = "type" or NAME = {…: "type"}, read elsewhere
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in used for t in node.targets
            ):
                found |= _strings(node.value)
    return found


def _is_emit(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return "emit" in name or name == "make_event"


def _strings(node: ast.expr) -> set[str]:
    return {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def test_every_documented_event_type_is_registered() -> None:
    registered = set(registered_event_types())
    missing = [t for t in documented_event_types() if t not in registered]
    assert missing == [], f"docs/events.md lists types nothing registers: {missing}"


@pytest.mark.parametrize("type_", documented_event_types())
def test_documented_event_type_has_an_emitter(type_: str) -> None:
    assert type_ in emitted_strings(), (
        f"docs/events.md documents {type_!r} but nothing in mobo/ or components/ emits it"
    )


@pytest.mark.parametrize("type_", registered_event_types())
def test_event_type_is_documented(type_: str) -> None:
    assert f"| `{type_}` |" in EVENTS_DOC, (
        f"event type {type_!r} is registered but has no row in docs/events.md"
    )


def test_events_doc_shows_how_to_watch_a_board() -> None:
    assert "PSUBSCRIBE 'mobo:<id>:evt:*'" in EVENTS_DOC


def test_every_cli_command_is_documented() -> None:
    from mobo.cli import main

    text = (DOCS / "cli.md").read_text()
    missing = [name for name in main.commands if f"`mobo {name}" not in text]
    assert missing == [], f"document these commands in docs/cli.md: {missing}"


def test_every_config_key_is_documented() -> None:
    from dataclasses import fields

    from mobo.kernel.config import SECTIONS

    text = (DOCS / "configuration.md").read_text()
    keys = [f"{name}.{f.name}" for name, cls in SECTIONS.items() for f in fields(cls)]
    missing = [key for key in keys if f"`{key}`" not in text]
    assert missing == [], f"document these keys in docs/configuration.md: {missing}"


def test_readme_opens_with_the_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    head = readme[: readme.index("\n## ")]
    assert "scripts/run" in head and "scripts/test" in head


EXAMPLE_CARD = ROOT / "tests" / "cards" / "example"


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLE_CARD.iterdir() if p.is_file()))
def test_the_example_card_in_the_docs_is_the_tested_one(name: str) -> None:
    """docs/cards.md shows each file of tests/cards/example as it is (the test plugs it)."""
    text = (DOCS / "cards.md").read_text()
    start = text.index(f"`example/{name}`")
    block = text[text.index("```", start) :]
    body = block[block.index("\n") + 1 : block.index("\n```")] + "\n"
    assert body == (EXAMPLE_CARD / name).read_text(), f"update example/{name} in docs/cards.md"
