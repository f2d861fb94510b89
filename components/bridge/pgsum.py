"""The table checksum of `checksum.py`, computed by PostgreSQL itself, in one query.

Verifying a copy into PostgreSQL does not need the target's rows in Python: each row is
spelled by SQL exactly as `checksum.canonical` spells it in Python (by the *source*
column's kind), joined with U+001F, NULL as U+001D, hashed with PostgreSQL's `md5`, and
the first 8 bytes of each hash are summed as a `numeric` (exact); the sum modulo 2**64 is
the checksum. PostgreSQL may scan with parallel workers.

Spellings (in a transaction with `TimeZone` UTC and `DateStyle` ISO):

| source kind | target column | SQL |
|---|---|---|
| integer | integer types | `c::text` |
| integer, decimal | numeric | `trim_scale(c)::text` (no trailing zeros, NaN, Infinity) |
| text | text, varchar | `c` (not `char(n)`: its cast to text drops the padding) |
| boolean | boolean | `t` / `f` |
| uuid | uuid / text | `c::text` / `lower(c)` |
| date | date | `c::text` (ISO, years 1-9999: all Python can read) |
| time | time without time zone | `c::text`, the fraction padded to 6 digits |
| timestamp | timestamp | the same, with `T` for the space |
| timestamptz | timestamptz | `c AT TIME ZONE 'UTC'` so, and `+00:00` |
| bytes | bytea | `encode(c, 'hex')` |

Times and timestamps also have an unpadded spelling (`padded=False`: the fraction as
PostgreSQL prints it, without trailing zeros), for the text of batches without fractions
of a second (the usual case), spelled without a test and a pad per row. It is as exact:
an unpadded spelling is either the value's canonical one (no fraction, or six digits) or
no value's canonical spelling (one to five digits), so unpadded text equals canonical
text only where every value is equal.

Floats, JSON, arrays and other types (whose PostgreSQL text differs from the canonical
spelling in ways SQL cannot cheaply undo), a database not encoded in UTF-8, and columns
of other types return None: the copy then reads the rows back and checksums them in
Python, as for the other engines. tests/bridge/test_pgsum.py checks, value by value,
that both sides agree.
"""

# ruff: noqa: S608  -- SQL here is built from quoted identifiers only; values are bound

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from components.datastore.schema import Kind

from .checksum import MODULUS, NULL, SEPARATOR, Checksum
from .drivers import PG_READ_SETTINGS
from .plan import ColumnPlan

ROW_HASH = "('x' || left(md5({row}), 16))::bit(64)::bigint"
PADDED = "CASE WHEN length({t}) > {n} THEN rpad({t}, {width}, '0') ELSE {t} END"
TEXT_TYPES = re.compile(r"^(text|character varying(\(\d+\))?)$")
TIME_TYPES = re.compile(r"^time(\(\d\))? without time zone$")
STAMP_TYPES = re.compile(r"^timestamp(\(\d\))? without time zone$")
ZONED_TYPES = re.compile(r"^timestamp(\(\d\))? with time zone$")
NUMERIC_TYPES = re.compile(r"^numeric(\(\d+(,\d+)?\))?$")
INTEGER_TYPES = ("smallint", "integer", "bigint")
NULL_SQL = "chr(29)"  # checksum.NULL
SEPARATOR_SQL = "chr(31)"  # checksum.SEPARATOR
assert (ord(NULL), ord(SEPARATOR)) == (29, 31)


def spelling(column: ColumnPlan, quoted: str, *, padded: bool = True) -> str | None:
    """Return the SQL that spells the target column canonically, or None if there is none
    (not `padded`: times and timestamps with their fractions as PostgreSQL prints them)."""
    kind, target = column.source.kind, column.target
    spelled = target.spelled.lower()
    if target.engine != "postgres":
        return None
    if kind is Kind.INTEGER and spelled in INTEGER_TYPES:
        return f"{quoted}::text"
    if kind in (Kind.INTEGER, Kind.DECIMAL) and NUMERIC_TYPES.match(spelled):
        return f"trim_scale({quoted})::text"
    if kind is Kind.TEXT and TEXT_TYPES.match(spelled):
        return quoted
    if kind is Kind.BOOLEAN and spelled == "boolean":
        return f"CASE {quoted} WHEN true THEN 't' WHEN false THEN 'f' END"
    if kind is Kind.UUID and spelled == "uuid":
        return f"{quoted}::text"
    if kind is Kind.UUID and TEXT_TYPES.match(spelled):
        return f"lower({quoted})"
    if kind is Kind.DATE and spelled == "date":
        return f"{quoted}::text"
    if kind is Kind.TIME and TIME_TYPES.match(spelled):
        return PADDED.format(t=f"{quoted}::text", n=8, width=15) if padded else f"{quoted}::text"
    if kind is Kind.TIMESTAMP and STAMP_TYPES.match(spelled):
        return _iso(quoted, padded)
    if kind is Kind.TIMESTAMPTZ and ZONED_TYPES.match(spelled):
        return _iso(f"({quoted} AT TIME ZONE 'UTC')", padded) + " || '+00:00'"
    if kind is Kind.BYTES and spelled == "bytea":
        return f"encode({quoted}, 'hex')"
    return None


def _iso(stamp: str, pad: bool = True) -> str:
    """`YYYY-MM-DD HH:MM:SS[.f]` (PostgreSQL) to `YYYY-MM-DDTHH:MM:SS[.ffffff]` (Python).

    The fraction is padded only when the timestamp has one (`date_trunc` is arithmetic:
    cheaper than printing the timestamp again to measure its text), and not at all
    without `pad`."""
    text = f"{stamp}::text"
    if not pad:
        return f"replace({text}, ' ', 'T')"
    padded = f"CASE WHEN {stamp} = date_trunc('second', {stamp}) THEN {text} "
    return f"replace({padded}ELSE rpad({text}, 26, '0') END, ' ', 'T')"


def checksum_sql(
    table: str, columns: Sequence[ColumnPlan], quote: Any, where: str = ""
) -> str | None:
    """Return the query of a table's row count and hash sum (of the rows `where` selects,
    with its parameters bound), or None if a column has no canonical spelling in SQL."""
    parts = []
    for column in columns:
        expr = spelling(column, quote(column.name))
        if expr is None:
            return None
        nullable = column.target.nullable
        parts.append(f"coalesce({expr}, {NULL_SQL})" if nullable else f"({expr})")
    row = f" || {SEPARATOR_SQL} || ".join(parts)
    sql = f"SELECT count(*), coalesce(sum({ROW_HASH.format(row=row)}), 0) FROM {table}"
    return f"{sql} WHERE {where}" if where else sql


def copy_text_sql(
    table: str, columns: Sequence[ColumnPlan], quote: Any, where: str, *, padded: bool = True
) -> str | None:
    """Return the query of the rows `where` selects as one `bytea`: each row's canonical
    spellings joined by tabs, NULL as `\\N`, rows joined by newlines in the order the scan
    reads them (the COPY text of a fused batch, `stream.Converters.prepared`, without its
    last newline, when that order is the key's), or None if a column has no canonical
    spelling in SQL. No ORDER BY: sorting costs a fifth of the query, and text that
    differs only in its order is verified by `checksum_sql` instead. Not `padded`: the
    fractions of times and timestamps as PostgreSQL prints them (see the docstring)."""
    parts = []
    for column in columns:
        expr = spelling(column, quote(column.name), padded=padded)
        if expr is None:
            return None
        parts.append(f"coalesce({expr}, E'\\\\N')" if column.target.nullable else f"({expr})")
    row = " || chr(9) || ".join(parts)
    text = f"string_agg({row}, chr(10))"  # in scan order: usually key order, not always
    return f"SELECT convert_to({text}, 'UTF8') FROM {table} WHERE {where}"


def copy_text(conn: Any, sql: str, params: Sequence[object]) -> bytes | None:
    """Run `copy_text_sql` in the caller's transaction, in a UTF-8 database."""
    conn.execute(PG_READ_SETTINGS)
    with conn.cursor(binary=True) as cursor:
        found = cursor.execute(sql, params).fetchone()[0]
    return None if found is None else bytes(found)


def server_checksum(conn: Any, sql: str) -> Checksum | None:
    """Run `checksum_sql` on a psycopg connection, in the caller's transaction; None if
    the database is not encoded in UTF-8 (md5 hashes its text in that encoding)."""
    return batch_checksum(conn, sql) if utf8(conn) else None


def utf8(conn: Any) -> bool:
    """Tell whether the database is encoded in UTF-8 (as the checksum's text must be)."""
    return conn.execute("SELECT current_setting('server_encoding')").fetchone()[0] == "UTF8"


def batch_checksum(conn: Any, sql: str, params: Sequence[object] = ()) -> Checksum:
    """Run `checksum_sql` (with its parameters) in the caller's transaction, in a UTF-8
    database."""
    conn.execute(PG_READ_SETTINGS)
    rows, total = conn.execute(sql, params).fetchone()
    return Checksum(int(rows), int(total) % MODULUS)
