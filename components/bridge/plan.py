"""Plan a copy: the source table's columns and key, and a target table that can hold them.

A missing target table is created with mapped types (`mapping.py`), the same NOT NULLs
and the same primary key; defaults, identity/auto-increment, other indexes, foreign
keys and checks are not copied. An existing target table must have every source column,
each of the same kind (or a wider one: integer into decimal, uuid into text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.datastore import Adapter
from components.datastore.schema import Kind, Table
from mobo.exceptions import BridgeError

from .drivers import driver_for
from .mapping import column_type
from .typeinfo import TypeInfo, type_info

WIDER = {(Kind.INTEGER, Kind.DECIMAL), (Kind.UUID, Kind.TEXT)}
MARIADB_UUID = (10, 7)


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """One copied column: its type on each side."""

    name: str
    source: TypeInfo
    target: TypeInfo


@dataclass(frozen=True, slots=True)
class Plan:
    """What to copy: columns in source order, the key, and whether the target was made."""

    source_table: str
    target_table: str
    columns: tuple[ColumnPlan, ...]
    key: tuple[str, ...]
    created: bool

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def key_index(self) -> tuple[int, ...]:
        names = self.names
        return tuple(names.index(k) for k in self.key)


def plan_copy(src: Adapter, src_table: str, dst: Adapter, dst_table: str) -> Plan:
    """Introspect both sides, creating the target table when it is missing."""
    table = src.refresh_schema().table(src_table)
    if not table.primary_key:
        raise BridgeError(
            f"{src.name}.{src_table} has no primary key: MagBridge copies in key order",
            hint="add a primary key to the source table (a view has none)",
        )
    sources = [type_info(src.engine, c) for c in table.columns]
    created = dst_table not in dst.refresh_schema().tables
    if created:
        create_table(dst, dst_table, table, sources)
    target = dst.refresh_schema().table(dst_table)
    if target.kind != "table":
        raise BridgeError(f"{dst.name}.{dst_table} is a view, not a table")
    columns = tuple(
        _pair(src, dst, c.name, info, target)
        for c, info in zip(table.columns, sources, strict=True)
    )
    return Plan(src_table, dst_table, columns, table.primary_key, created)


def create_table(dst: Adapter, name: str, source: Table, infos: list[TypeInfo]) -> None:
    """Create `name` on `dst` with the mapped type of each source column."""
    driver = driver_for(dst)
    uuid_ok = dst.engine == "mysql" and _mariadb_version(dst) >= MARIADB_UUID
    lines = []
    for column, info in zip(source.columns, infos, strict=True):
        in_key = column.name in source.primary_key
        spelled = column_type(info, dst.engine, in_key=in_key, mysql_uuid=uuid_ok)
        null = " NOT NULL" if not info.nullable or in_key else ""
        if not null and dst.engine == "mysql":
            null = " NULL"  # a MySQL TIMESTAMP is otherwise NOT NULL on older servers
        lines.append(f"{driver.quote(column.name)} {spelled}{null}")
    key = ", ".join(driver.quote(k) for k in source.primary_key)
    lines.append(f"PRIMARY KEY ({key})")
    suffix = " DEFAULT CHARSET=utf8mb4" if dst.engine == "mysql" else ""
    try:
        dst.raw(f"CREATE TABLE {driver.table(name)} ({', '.join(lines)}){suffix}", ())
    except BridgeError:
        raise
    except Exception as exc:
        raise BridgeError(
            f"cannot create {dst.name}.{name}: {exc}",
            hint="create the target table yourself, then run the copy again",
        ) from exc


def _pair(src: Adapter, dst: Adapter, name: str, info: TypeInfo, target: Table) -> ColumnPlan:
    if name not in {c.name for c in target.columns}:
        raise BridgeError(
            f"{dst.name}.{target.name} has no column {name!r} (it is in {src.name})",
            hint="add the column to the target table, or copy into a new table",
        )
    theirs = type_info(dst.engine, target.column(name))
    same = theirs.kind == info.kind or (info.kind, theirs.kind) in WIDER
    if not same or (Kind.OTHER in (info.kind, theirs.kind) and src.engine != dst.engine):
        raise BridgeError(
            f"column {name!r} is {info.spelled} ({info.kind}) in {src.name} but "
            f"{theirs.spelled} ({theirs.kind}) in {dst.name}",
            hint="copy into a new table (MagBridge creates it), or change the target column",
        )
    return ColumnPlan(name, info, theirs)


def _mariadb_version(adapter: Adapter) -> tuple[int, int]:
    version = str(adapter.raw("SELECT VERSION() AS v", ()).rows[0]["v"])
    match = re.match(r"(\d+)\.(\d+)", version)
    if "mariadb" not in version.lower() or match is None:
        return (0, 0)
    return int(match.group(1)), int(match.group(2))
