"""Things that must be documented are documented (after Datasette's tests/test_docs.py)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from mobo.events import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EVENTS_DOC = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")


def registered_event_types() -> list[str]:
    """Return every event type, including those cards register when imported."""
    for init in sorted((ROOT / "components").glob("*/__init__.py")):
        importlib.import_module(f"components.{init.parent.name}")
    return sorted(EVENT_TYPES)


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
