"""How one engine spells SQL: quoting, placeholders, LIKE, RETURNING, upserts, casts.

The compiler is shared; a Dialect is the whole of what differs between engines.
Behaviour an engine lacks is emulated only where the emulation is exact:
- NULLS FIRST/LAST on MySQL: an extra `col IS NULL` sort key;
- ILIKE on MySQL: `LOWER(col) LIKE LOWER(pattern) COLLATE utf8mb4_bin`, and LIKE is
  forced case- and accent-sensitive with the same collation (MySQL's default `_ci`
  collations would make LIKE case-insensitive and `a` match `ä`);
- LIKE/ILIKE on SQLite: `mobo_like`/`mobo_ilike` functions the adapter registers, with
  PostgreSQL's semantics (SQLite's own LIKE ignores ASCII case and only ASCII case);
- UPDATE ... RETURNING on MariaDB: done by the adapter (keys, update, re-select).
Anything else is refused with UnsupportedFeature.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    )


def mysql(*, mariadb: bool = True, version: tuple[int, ...] = (10, 11)) -> Dialect:
    """Return MySQL's dialect; RETURNING on INSERT needs MariaDB 10.5, on DELETE 10.0."""
    returning = frozenset()
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
    )
