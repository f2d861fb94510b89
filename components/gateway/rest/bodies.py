"""Request bodies: read within the size limit, decode JSON, CSV or a form.

JSON numbers with a fraction are read as Decimal, so a value bound for a numeric column
keeps every digit (`normalize` turns them into text there, and into floats elsewhere).
CSV has a header row; `NULL` is null and an empty field the empty string, as PostgREST.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import IO, Any
from urllib.parse import parse_qsl

from components.datastore.schema import Kind, Table
from components.gateway.postgrest import errors as parse_errors
from components.gateway.postgrest.media import Media
from components.gateway.rest import errors

MAX_BODY_BYTES = 10 * 1024 * 1024  # a request body larger than this is refused with 413
READ_CHUNK = 64 * 1024


def read_body(stream: IO[bytes], length: int | None, limit: int = MAX_BODY_BYTES) -> bytes:
    """Read a request body; 413 as soon as it is known to exceed `limit` bytes."""
    if length is not None and length > limit:
        raise errors.body_too_large(length, limit)
    chunks, size = [], 0
    while True:
        chunk = stream.read(min(READ_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise errors.body_too_large(size, limit)
    return b"".join(chunks)


def decode(data: bytes, media: Media | None) -> Any:
    """Return the rows (or RPC arguments) a body holds; 400 PGRST102 when it does not read."""
    if media is Media.CSV:
        return _csv(data)
    if media is Media.FORM:
        return dict(parse_qsl(_text(data), keep_blank_values=True))
    try:
        if not data.strip():
            raise ValueError("empty")
        return json.loads(data, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise parse_errors.invalid_body("Empty or invalid json") from None


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise parse_errors.invalid_body("The body is not valid UTF-8") from None


def _csv(data: bytes) -> list[dict[str, Any]]:
    reader = csv.reader(io.StringIO(_text(data)))
    try:
        header = next(reader)
        rows = [row for row in reader if row]
    except (StopIteration, csv.Error):
        raise parse_errors.invalid_body("Empty or invalid CSV") from None
    if any(len(row) != len(header) for row in rows):
        raise parse_errors.invalid_body("All lines must have the same number of fields")
    return [
        {k: None if v == "NULL" else v for k, v in zip(header, row, strict=True)} for row in rows
    ]


def normalize(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a row whose JSON Decimals are exact text for numeric columns, floats elsewhere."""
    kinds = {c.name: c.kind for c in table.columns}
    out = {}
    for name, value in row.items():
        if isinstance(value, Decimal) and kinds.get(name) is Kind.DECIMAL:
            out[name] = str(value)
        else:
            out[name] = plain(value)
    return out


def plain(value: Any) -> Any:
    """Return a decoded JSON value with every Decimal made a float (for JSON columns)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
