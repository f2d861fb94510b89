"""The feed's entry format read back: what a reading card gets from `entry.decode`."""

from __future__ import annotations

import datetime as dt

import pytest

from components.datastore.capture import entry


def test_an_entry_written_for_the_stream_decodes_to_the_same_change() -> None:
    change = entry.entry(
        "c1", "main", "todos", "upsert", new={"id": 1}, old=None, pk={"id": 1},
        commit_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )  # fmt: skip
    *_, field, text = entry.xadd("stream", 100, change)
    assert entry.decode({field.encode(): text.encode()}) == change
    assert change["op"] == "update"


@pytest.mark.parametrize(
    "fields",
    [None, {}, {b"c": b"not json"}, {b"c": b"[1]"}, {b"c": b'{"store": "main", "op": 1}'}],
)
def test_what_is_not_a_change_decodes_to_none(fields: dict[bytes, bytes] | None) -> None:
    assert entry.decode(fields) is None
