"""The change entry on the feed's stream: written here, read back with `decode`.

One stream entry per committed row change, one field `c` holding JSON:

    {"id": "...", "store": "main", "table": "todos", "op": "insert"|"update"|"delete",
     "new": {row}|null, "old": {row or key}|null, "pk": {"id": 1}|null,
     "commit_time": "2026-11-25T21:00:00.123456+00:00", "ref": null|{"reason": "too_large"}}

`id` is unique and stays the same when a change is forwarded twice (at-least-once), so a
consumer can drop duplicates. Values are what MagDS returns for the column (numeric as
exact text, instants in UTC, bytea as `\\x…`), whichever path captured the change.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..changes import Change
from ..schema import Kind, Table
from ..values import decimal_text, jsonable

FIELD = "c"
_FIELD = FIELD.encode()
TOO_LARGE = {"reason": "too_large"}
OPS = {"insert": "insert", "update": "update", "delete": "delete", "upsert": "update"}

Row = dict[str, Any]


def entry(
    change_id: str,
    store: str,
    table: str,
    op: str,
    *,
    new: Row | None,
    old: Row | None,
    pk: Row | None,
    commit_time: dt.datetime,
    too_large: bool = False,
) -> dict[str, Any]:
    """Return one change in the stream's format."""
    return {
        "id": change_id,
        "store": store,
        "table": table,
        "op": OPS[op],
        "new": None if too_large else new,
        "old": None if too_large else old,
        "pk": pk,
        "commit_time": commit_time.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "ref": dict(TOO_LARGE) if too_large else None,
    }


def encode(change: Mapping[str, Any]) -> str:
    """Serialise an entry compactly (values are already JSON-able)."""
    return json.dumps(change, separators=(",", ":"), default=str)


def xadd(stream: str, maxlen: int, change: Mapping[str, Any]) -> tuple[Any, ...]:
    """The XADD command for one entry, for `mobo.kernel.bus.pipelined`."""
    return ("XADD", stream, "MAXLEN", "~", maxlen, "*", FIELD, encode(change))


def decode(fields: Mapping[bytes, bytes] | None) -> dict[str, Any] | None:
    """Parse one stream entry's fields back into a change; None when it is not one."""
    raw = (fields or {}).get(_FIELD)
    try:
        change = json.loads(raw) if raw else None
    except ValueError:
        return None
    if isinstance(change, dict) and all(
        isinstance(change.get(k), str) for k in ("store", "table", "op")
    ):
        return change
    return None


def from_magds(changes: Sequence[Change], max_row_bytes: int) -> list[dict[str, Any]]:
    """Entries for the changes one write made through MagDS (already JSON-able rows).

    An upsert is reported as an update (MagDS cannot tell which rows were new); a
    change whose rows exceed `max_row_bytes` travels by reference, as captured ones do.
    """
    now = dt.datetime.now(dt.UTC)
    out = []
    for change in changes:
        size = len(encode({"new": change.new, "old": change.old}))
        out.append(
            entry(
                uuid.uuid4().hex,
                change.store,
                change.table,
                change.op,
                new=change.new,
                old=change.old,
                pk=change.pk,
                commit_time=now,
                too_large=size > max_row_bytes and change.pk is not None,
            )
        )
    return out


def decode_row(text: str | None, table: Table | None) -> Row | None:
    """Parse a row Postgres serialised with to_jsonb into MagDS's values for its columns.

    to_jsonb prints numeric as a JSON number: it is read exactly (Decimal) and written
    as text for numeric columns, as a float elsewhere (float columns, numbers inside
    json). The trigger runs in UTC, so instants already carry +00:00.
    """
    if text is None:
        return None
    raw = json.loads(text, parse_float=Decimal)
    if not isinstance(raw, dict):
        return None
    kinds = {c.name: c.kind for c in table.columns} if table is not None else {}
    return {name: _value(value, kinds.get(name)) for name, value in raw.items()}


def _value(value: Any, kind: Kind | None) -> Any:
    if kind is Kind.DECIMAL and isinstance(value, int | Decimal):
        return decimal_text(value)
    if kind in _CLOCKS and isinstance(value, str):
        try:  # to_jsonb trims trailing zeros of the fraction; MagDS prints Python's isoformat
            return _CLOCKS[kind](value).isoformat()
        except ValueError:
            return value  # 'infinity' and other values Python has no type for
    return _floats(value)


_CLOCKS: dict[Kind, Callable[[str], dt.datetime | dt.time]] = {
    Kind.TIMESTAMPTZ: dt.datetime.fromisoformat,
    Kind.TIMESTAMP: dt.datetime.fromisoformat,
    Kind.TIME: dt.time.fromisoformat,
}


def _floats(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else jsonable(value)
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    return value
