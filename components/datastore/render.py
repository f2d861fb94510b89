"""What the `mobo ds:*` commands draw; the card's only module that imports rich."""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape
from rich.table import Table

from mobo.cli.render import console, print_json

__all__ = ["console", "print_json"]


def _table(*columns: str) -> Table:
    table = Table(show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _cell(value: object) -> str:
    if value is None:
        return "[dim]null[/]"
    if isinstance(value, dict | list):
        return escape(json.dumps(value, ensure_ascii=False))
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.0f} ms"


def stores_table(rows: list[dict[str, Any]]) -> None:
    table = _table("store", "engine", "where", "health", "latency", "detail")
    for r in rows:
        name = f"{r['name']} [dim](default)[/]" if r["default"] else r["name"]
        health = "[green]ok[/]" if r["ok"] else "[red]down[/]"
        latency = _ms(r["latency_ms"]) if r["ok"] else "-"
        table.add_row(name, r["engine"], escape(r["where"]), health, latency, escape(r["detail"]))
    console.print(table)


def tables_table(store: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print(f"[dim]{escape(store)} has no tables or views[/]")
        return
    table = _table("table", "kind", "columns", "primary key", "foreign keys", "indexes")
    for r in rows:
        table.add_row(
            escape(r["name"]),
            r["kind"],
            str(r["columns"]),
            escape(", ".join(r["primary_key"])) or "-",
            str(r["foreign_keys"]),
            str(r["indexes"]),
        )
    console.print(table)


def describe(info: dict[str, Any]) -> None:
    console.print(f"[bold]{escape(info['store'])}.{escape(info['table'])}[/] ({info['kind']})")
    table = _table("column", "type", "nullable", "default", "pk")
    for c in info["columns"]:
        table.add_row(
            escape(c["name"]),
            escape(c["type"]),
            "yes" if c["nullable"] else "no",
            _cell(c["default"]) if c["default"] is not None else "-",
            "[green]✓[/]" if c["primary_key"] else "",
        )
    console.print(table)
    if info["foreign_keys"]:
        fks = _table("foreign key", "columns", "references")
        for fk in info["foreign_keys"]:
            ref = f"{fk['ref_table']}({', '.join(fk['ref_columns'])})"
            fks.add_row(escape(fk["name"]), escape(", ".join(fk["columns"])), escape(ref))
        console.print(fks)
    if info["indexes"]:
        indexes = _table("index", "columns", "unique", "primary", "partial")
        for i in info["indexes"]:
            indexes.add_row(
                escape(i["name"]),
                escape(", ".join(i["columns"])) or "(expression)",
                "yes" if i["unique"] else "",
                "yes" if i["primary"] else "",
                "yes" if i["partial"] else "",
            )
        console.print(indexes)


def rows_table(rows: list[dict[str, Any]], rowcount: int) -> None:
    if rows:
        table = _table(*(escape(key) for key in rows[0]))
        for row in rows:
            table.add_row(*(_cell(value) for value in row.values()))
        console.print(table)
        console.print(f"[dim]{len(rows)} row{'s' if len(rows) != 1 else ''}[/]")
        return
    console.print(f"[dim]rowcount {rowcount}[/]")


def migrations(store: str, applied: list[dict[str, Any]], *, dry_run: bool) -> None:
    if not applied:
        console.print(f"[green]✓[/] {escape(store)}: nothing to apply, up to date")
        return
    verb = "would apply" if dry_run else "applied"
    for a in applied:
        ms = "" if dry_run else f" [dim]{a['ms']:.0f} ms[/]"
        mark = "[yellow]○[/]" if dry_run else "[green]✓[/]"
        console.print(f"{mark} {verb} {escape(a['name'])} [dim]{a['checksum'][:12]}[/]{ms}")
    console.print(f"[dim]{len(applied)} migration(s) {verb} on {escape(store)}[/]")
