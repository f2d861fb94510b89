"""Things that must be documented are documented (after Datasette's tests/test_docs.py)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from mobo.events import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[1]
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
