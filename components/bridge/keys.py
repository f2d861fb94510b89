"""A row's primary key as JSON, keeping each value's exact driver type.

The checkpoint records the last copied key as the source driver read it (a SQLite
timestamp key is text, a MySQL one a datetime), so a resumed copy binds exactly what
the keyset query compared before. JSON cannot tell a date from a string, hence tags.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal

from components.datastore.values import jsonable

TAGS: dict[str, Callable[[str], object]] = {
    "decimal": Decimal,
    "bytes": bytes.fromhex,
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
    "uuid": uuid.UUID,
}


def dump_key(values: Sequence[object]) -> str:
    """Return the JSON text of a key's driver values."""
    return json.dumps([_tagged(v) for v in values], ensure_ascii=False)


def load_key(text: str) -> tuple[object, ...]:
    """Return the driver values `dump_key` wrote."""
    return tuple(_untagged(v) for v in json.loads(text))


def show_key(names: Sequence[str], values: Sequence[object]) -> dict[str, object]:
    """Return a key as {column: JSON-friendly value}, for messages and `--json`."""
    return {name: jsonable(value) for name, value in zip(names, values, strict=True)}


def _tagged(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": bytes(value).hex()}
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"time": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    raise TypeError(f"cannot record a key value of type {type(value).__name__}")


def _untagged(value: object) -> object:
    if isinstance(value, dict):
        ((tag, text),) = value.items()
        return TAGS[tag](text)
    return value
