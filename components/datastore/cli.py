"""`mobo ds:list|tables|describe|sql|migrate`: the operator's view of the board's stores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import click

from mobo.exceptions import DatastoreError, DatastoreUnavailable, MoboError
from mobo.kernel.config import home_from_env, load_config

from .adapters.base import Adapter
from .migrate import board_migrations_dir, migrate_store
from .schema import Table
from .specs import DEFAULT_STORE, fix_hint, where
from .stores import Datastores

ROLLED_BACK = "nothing was changed: the SQL ran in one transaction, which was rolled back"
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


@contextmanager
def _board_stores(ctx: click.Context) -> Iterator[Datastores]:
    stores = Datastores.from_config(load_config(home_from_env(ctx.obj)))
    try:
        yield stores
    finally:
        stores.close()


def _open(stores: Datastores, name: str) -> Adapter:
    settings = stores.settings(name)  # ConfigError naming the known stores
    try:
        return stores[name]
    except DatastoreUnavailable as exc:
        raise DatastoreUnavailable(exc.message, hint=fix_hint(name, settings)) from None


@click.command("ds:list")
@JSON
@click.pass_context
def ds_list(ctx: click.Context, as_json: bool) -> None:
    """List the board's data stores with their health and latency."""
    from . import render

    with _board_stores(ctx) as stores:
        rows = []
        for name in stores.names:
            settings, health = stores.settings(name), stores.health(name)
            rows.append(
                {
                    "name": name,
                    "engine": settings.engine,
                    "where": where(settings),
                    "default": name == DEFAULT_STORE,
                    "ok": health.ok,
                    "latency_ms": health.latency_ms,
                    "detail": health.detail,
                }
            )
    render.print_json(rows) if as_json else render.stores_table(rows)


@click.command("ds:tables")
@click.argument("store")
@JSON
@click.pass_context
def ds_tables(ctx: click.Context, store: str, as_json: bool) -> None:
    """List the tables and views of STORE."""
    from . import render

    with _board_stores(ctx) as stores:
        schema = _open(stores, store).introspect()
    rows = [
        {
            "name": t.name,
            "kind": t.kind,
            "columns": len(t.columns),
            "primary_key": list(t.primary_key),
            "foreign_keys": len(t.foreign_keys),
            "indexes": len(t.indexes),
        }
        for t in sorted(schema.tables.values(), key=lambda t: t.name)
    ]
    render.print_json(rows) if as_json else render.tables_table(store, rows)


@click.command("ds:describe")
@click.argument("target", metavar="STORE.TABLE")
@JSON
@click.pass_context
def ds_describe(ctx: click.Context, target: str, as_json: bool) -> None:
    """Show a table's columns (type, nullable, default, primary key), foreign keys, indexes."""
    from . import render

    store, dot, name = target.partition(".")
    if not dot or not store or not name:
        raise MoboError(
            f"{target!r} does not name a table as STORE.TABLE",
            hint=f"e.g. `mobo ds:describe {DEFAULT_STORE}.todos`; see `mobo ds:tables STORE`",
        )
    with _board_stores(ctx) as stores:
        schema = _open(stores, store).introspect()
    try:
        table = schema.table(name)
    except DatastoreError as exc:
        hint = exc.hint or f"`mobo ds:tables {store}` lists its tables"
        raise MoboError(f"{store} has no table {name!r}", hint=hint) from None
    info = describe_table(store, table)
    render.print_json(info) if as_json else render.describe(info)


def describe_table(store: str, table: Table) -> dict[str, Any]:
    """Return what `ds:describe` shows, as JSON-friendly data."""
    return {
        "store": store,
        "table": table.name,
        "kind": table.kind,
        "columns": [
            {k: v for k, v in asdict(c).items() if k != "kind"} | {"kind": str(c.kind)}
            for c in table.columns
        ],
        "primary_key": list(table.primary_key),
        "foreign_keys": [asdict(fk) for fk in table.foreign_keys],
        "indexes": [asdict(index) for index in table.indexes],
    }


@click.command("ds:sql")
@click.argument("store")
@click.argument("sql")
@JSON
@click.pass_context
def ds_sql(ctx: click.Context, store: str, sql: str, as_json: bool) -> None:
    """Run operator SQL on STORE in one transaction; print its rows, or its rowcount."""
    from . import render

    with _board_stores(ctx) as stores:
        adapter = _open(stores, store)
        try:
            result = adapter.raw(sql)
        except DatastoreError as exc:
            code = f" [{exc.code}]" if exc.code else ""
            hint = exc.hint or exc.details or ROLLED_BACK
            raise MoboError(f"{store}{code}: {exc.message}", hint=hint) from None
    # drivers say -1 where they do not count (SQLite's SELECT, DDL): count the rows instead
    rowcount = result.rowcount if result.rowcount >= 0 else len(result.rows)
    if as_json:
        render.print_json({"rows": result.rows, "rowcount": rowcount})
    else:
        render.rows_table(result.rows, rowcount)


@click.command("ds:migrate")
@click.argument("store")
@click.option("--dry-run", is_flag=True, help="Only show what would be applied.")
@JSON
@click.pass_context
def ds_migrate(ctx: click.Context, store: str, dry_run: bool, as_json: bool) -> None:
    """Apply the board's migrations/STORE/*.sql files not applied yet, in order."""
    from . import render

    config = load_config(home_from_env(ctx.obj))
    folder = board_migrations_dir(config.home, store)
    with _board_stores(ctx) as stores:
        adapter = _open(stores, store)
        if not folder.is_dir() and not as_json:
            render.console.print(f"[dim]no migrations for {store}: {folder} does not exist[/]")
        applied = [asdict(a) for a in migrate_store(adapter, config.home, dry_run=dry_run)]
    if as_json:
        render.print_json(applied)
    else:
        render.migrations(store, applied, dry_run=dry_run)


COMMANDS = [ds_list, ds_tables, ds_describe, ds_sql, ds_migrate]
