"""How one engine spells SQL: quoting, placeholders, LIKE, RETURNING, upserts, casts.

The compiler is shared; a Dialect is the whole of what differs between engines.
Behaviour an engine lacks is emulated only where the emulation is exact:
- NULLS FIRST/LAST on MySQL: an extra `col IS NULL` sort key;
- ILIKE on MySQL: `LOWER(col) LIKE LOWER(pattern) COLLATE utf8mb4_bin`, and LIKE is
  forced case- and accent-sensitive with the same collation (MySQL's default `_ci`
  collations would make LIKE case-insensitive and `a` match `ä`);
- LIKE/ILIKE on SQLite: `mobo_like`/`mobo_ilike` functions the adapter registers, with
  PostgreSQL's semantics (SQLite's own LIKE ignores ASCII case and only ASCII case);
- UPDATE ... RETURNING on MariaDB: done by the adapter (keys, update, re-select);
- regular expressions (`match`/`imatch`) on SQLite: `mobo_match`/`mobo_imatch` functions
  the adapter registers (the `regex` package, bounded: bounded_regex.py); on MySQL
  `REGEXP` with `(?-i)`/`(?i)`;
- JSON paths: `to_jsonb(col) -> k ->> k` on PostgreSQL (as PostgREST), `json_extract` /
  `->` on SQLite and `JSON_EXTRACT`/`JSON_UNQUOTE` on MySQL with the path as one bound
  `$."k"[0]` text; `->>` gives PostgreSQL's text (strings unquoted, JSON null as NULL).
  A JSON value (`->`) is compared for equality only (eq, neq, in, is) outside PostgreSQL,
  and ordered only on PostgreSQL, where jsonb has an order;
- `isdistinct`: `IS NOT` on SQLite, `NOT (a <=> b)` on MySQL.
Full-text search and the array/range operators are PostgreSQL's; `cs`/`cd` on a JSON
value also run on MySQL (JSON_CONTAINS). Anything else is refused with UnsupportedFeature.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from mobo.exceptions import UnsupportedFeature

from .codecs import Codec, MysqlCodec, PostgresCodec, SqliteCodec

ALL_RETURNING = frozenset({"insert", "update", "delete"})
POSTGRES_CASTS = {
    name: name
    for name in (
        "text varchar char integer int int2 int4 int8 smallint bigint numeric decimal real "
        "float4 float8 boolean bool json jsonb date time timestamp timestamptz uuid"
    ).split()
} | {"double precision": "double precision"}
SQLITE_CASTS = {"text": "TEXT", "varchar": "TEXT", "real": "REAL", "float4": "REAL"}
SQLITE_CASTS |= {"float8": "REAL", "double precision": "REAL", "numeric": "NUMERIC"}
SQLITE_CASTS |= dict.fromkeys(("integer", "int", "int2", "int4", "int8", "smallint"), "INTEGER")
SQLITE_CASTS |= {"bigint": "INTEGER", "decimal": "NUMERIC"}
MYSQL_CASTS = {"text": "CHAR", "varchar": "CHAR", "char": "CHAR", "date": "DATE", "time": "TIME"}
MYSQL_CASTS |= dict.fromkeys(("integer", "int", "int2", "int4", "int8", "smallint"), "SIGNED")
MYSQL_CASTS |= {"bigint": "SIGNED", "real": "DOUBLE", "float4": "DOUBLE", "float8": "DOUBLE"}
MYSQL_CASTS |= {"double precision": "DOUBLE", "timestamp": "DATETIME(6)"}


@dataclass(frozen=True, slots=True)
class Dialect:
    """Everything the compiler needs to know about one engine's SQL."""

    engine: str
    codec: Codec = field(repr=False)
    quote: str = '"'
    placeholder: str = "%s"
    like: str = "{col} LIKE {val}"
    ilike: str = "{col} ILIKE {val}"
    returning: frozenset[str] = ALL_RETURNING
    nulls_order: bool = True  # NULLS FIRST/LAST is native
    nulls_low: bool = False  # NULL sorts below every value by default (MySQL, SQLite)
    upsert: str = "on_conflict"  # or "on_duplicate_key"
    default_values: str = "DEFAULT VALUES"
    no_limit: str | None = None  # the LIMIT an OFFSET needs when there is no limit
    for_update: str = " FOR UPDATE"
    max_params: int = 65_535
    casts: Mapping[str, str] = field(default_factory=lambda: POSTGRES_CASTS, repr=False)
    json_style: str = "postgres"  # or "sqlite", "mysql": how JSON paths are spelled
    isdistinct: str = "{col} IS DISTINCT FROM {val}"
    match: str | None = "{col} ~ {val}"
    imatch: str | None = "{col} ~* {val}"
    json_equal: str | None = "{col} = {val}"  # JSON value = JSON text (a `->` filter)
    json_contains: str | None = "{col} @> {val}"  # cs on a JSON value; cd swaps the two
    postgres_ops: bool = True  # full-text search, array and range operators

    def json_expr(self, col: str, keys: tuple[str | int, ...], text: bool, bind: Bind) -> str:
        """Return the SQL of `col->k->>k`: JSON (`text=False`) or text; keys are bound."""
        if self.json_style == "postgres":
            expr = f"to_jsonb({col})"
            for i, key in enumerate(keys):
                arrow = "->>" if text and i == len(keys) - 1 else "->"
                mark = bind(key)
                expr += f" {arrow} {mark}::integer" if isinstance(key, int) else f" {arrow} {mark}"
            return f"({expr})"
        path = self.json_path_text(keys)
        if self.json_style == "sqlite":
            if not text:
                return f"({col} -> {bind(path)})"
            return (
                f"(CASE json_type({col}, {bind(path)}) WHEN 'text' THEN {col} ->> {bind(path)} "
                f"WHEN 'null' THEN NULL ELSE {col} -> {bind(path)} END)"
            )
        if not text:
            return f"JSON_EXTRACT({col}, {bind(path)})"
        kind = f"JSON_TYPE(JSON_EXTRACT({col}, {bind(path)}))"  # each mark bound in turn
        value = f"JSON_UNQUOTE(JSON_EXTRACT({col}, {bind(path)}))"
        return f"(CASE {kind} WHEN 'NULL' THEN NULL ELSE {value} END)"

    def json_path_text(self, keys: tuple[str | int, ...]) -> str:
        """Return the `$."a"[0]` path text SQLite and MySQL take (one bound parameter)."""
        path = "$"
        for key in keys:
            if isinstance(key, int):
                if key < 0 and self.json_style != "sqlite":
                    raise UnsupportedFeature(self.engine, "negative JSON array indexes")
                path += f"[#{key}]" if key < 0 else f"[{key}]"
            elif '"' in key or "\\" in key:
                raise UnsupportedFeature(self.engine, 'JSON keys with " or \\ in them')
            else:
                path += "." + json.dumps(key, ensure_ascii=False)
        return path

    def quote_ident(self, name: str) -> str:
        """Quote an identifier; `%` is doubled where `%s` is the placeholder."""
        quoted = self.quote + name.replace(self.quote, self.quote * 2) + self.quote
        return quoted.replace("%", "%%") if self.placeholder == "%s" else quoted

    def cast_type(self, name: str) -> str:
        """Return the engine's type for a PostgREST cast (`::text`), or refuse it."""
        key = " ".join(name.lower().split())
        if key not in self.casts:
            raise UnsupportedFeature(self.engine, f"casts to {name!r}")
        return self.casts[key]

    def supports_returning(self, statement: str) -> bool:
        """Tell whether `statement` (insert, update, delete) can take RETURNING."""
        return statement in self.returning


Bind = Callable[[object], str]  # binds a value as a parameter, returns its placeholder


def postgres() -> Dialect:
    """Return PostgreSQL's dialect (psycopg's `%s` placeholders)."""
    return Dialect("postgres", PostgresCodec())


def sqlite(version: tuple[int, ...] = (3, 40)) -> Dialect:
    """Return SQLite's dialect (3.35+ for RETURNING, 3.30+ for NULLS FIRST/LAST)."""
    return Dialect(
        "sqlite",
        SqliteCodec(),
        placeholder="?",
        like="mobo_like({col}, {val})",
        ilike="mobo_ilike({col}, {val})",
        returning=ALL_RETURNING if version >= (3, 35) else frozenset(),
        nulls_order=version >= (3, 30),
        nulls_low=True,
        no_limit="-1",
        for_update="",
        max_params=32_766,
        casts=SQLITE_CASTS,
        json_style="sqlite",
        isdistinct="{col} IS NOT {val}",
        match="mobo_match({col}, {val})",
        imatch="mobo_imatch({col}, {val})",
        json_equal="{col} = json({val})",
        json_contains=None,
        postgres_ops=False,
    )


def mysql(*, mariadb: bool = True, version: tuple[int, ...] = (10, 11)) -> Dialect:
    """Return MySQL's dialect; RETURNING on INSERT needs MariaDB 10.5, on DELETE 10.0."""
    returning: frozenset[str] = frozenset()
    json_equal: str | None = "{col} = CAST({val} AS JSON)"  # MySQL compares JSON values
    if mariadb:  # JSON is text there: JSON_EQUALS (10.7+) compares it as JSON; `= 1`
        # because a bare JSON_EQUALS(NULL, x) in a WHERE clause is taken as true (10.11)
        json_equal = "(JSON_EQUALS({col}, {val}) = 1)" if version >= (10, 7) else None
    if mariadb:
        returning = frozenset({"insert", "delete"} if version >= (10, 5) else {"delete"})
    return Dialect(
        "mysql",
        MysqlCodec(),
        quote="`",
        like="{col} LIKE {val} COLLATE utf8mb4_bin",
        ilike="LOWER({col}) LIKE LOWER({val}) COLLATE utf8mb4_bin",
        returning=returning,
        nulls_order=False,
        nulls_low=True,
        upsert="on_duplicate_key",
        default_values="() VALUES ()",
        no_limit="18446744073709551615",
        casts=MYSQL_CASTS,
        json_style="mysql",
        isdistinct="NOT ({col} <=> {val})",
        match="{col} REGEXP CONCAT('(?-i)', {val})",
        imatch="{col} REGEXP CONCAT('(?i)', {val})",
        json_equal=json_equal,
        json_contains="JSON_CONTAINS({col}, {val})",
        postgres_ops=False,
    )
