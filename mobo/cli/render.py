"""Everything the CLI draws; the only module that imports rich."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from mobo.contract import Check

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

STATE_STYLE = {
    "running": "green",
    "ready": "green",
    "healthy": "green",
    "idle": "dim",
    "stopped": "yellow",
    "unplugged": "dim",
    "not_ready": "yellow",
    "degraded": "yellow",
    "starting": "cyan",
    "backoff": "red",
    "failed": "red",
    "critical": "red",
    "off": "dim",
    "unknown": "dim",
}


def styled(value: str | None) -> str:
    value = value or "-"
    style = STATE_STYLE.get(value)
    return f"[{style}]{value}[/]" if style else value


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


def error(message: str, hint: str | None = None) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    if hint:
        err_console.print(f"[dim]hint:[/] {escape(hint)}")


class BootScreen:
    """Draws the boot stages and POST checks as they happen (a BootReporter)."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def stage(self, name: str) -> None:
        console.print(f"[bold cyan]▸ {name}[/]")

    def check(self, check: Check) -> None:
        mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
        detail = f" [dim]{check.detail}[/]" if check.detail else ""
        console.print(f"   {mark} {check.name}{detail} [dim]{check.ms:.0f} ms[/]")

    def stage_done(self, name: str, ms: float) -> None:
        self.times[name] = ms
        console.print(f"   [dim]{name} done in {ms:.0f} ms[/]")


def boot_result(result: Any) -> None:
    if result.already_running:
        console.print("[yellow]The board is already running.[/]")
    else:
        console.print(
            f"[bold green]READY[/] in {result.ready_ms:.0f} ms "
            f"(kernel {result.kernel_ms:.0f} ms): {', '.join(result.cards)}"
        )
    for name, url in result.urls.items():
        console.print(f"  {name}: [link={url}]{url}[/link]")


def duration(seconds: float | None) -> str:
    """Show a span of seconds as HH:MM:SS, or days past one day."""
    if seconds is None:
        return "-"
    return (
        time.strftime("%H:%M:%S", time.gmtime(seconds))
        if seconds < 86400
        else f"{seconds / 86400:.1f}d"
    )


def status_table(status: dict[str, Any]) -> None:
    board = status["board"]
    console.print(
        f"[bold]{board['name']}[/] [dim]{board['id']}[/] at {board['home']}: "
        f"{styled(board['state'])}"
    )
    backup = board.get("last_backup")
    if backup is not None:
        checked = {True: "verified", False: "failed verification", None: "not verified"}
        console.print(
            f"last good backup: {backup['id']} ({backup['created']}, {checked[backup['verified']]})"
        )
    table = Table(show_edge=False, header_style="bold")
    for col in ("card", "state", "pid", "uptime", "memory", "health", "url", "detail"):
        table.add_column(col)
    for c in status["cards"]:
        mem = f"{c['memory_mb']:.0f} MB" if c["memory_mb"] is not None else "-"
        table.add_row(
            c["name"],
            styled(c["state"]),
            str(c["pid"] or "-"),
            duration(c["uptime_s"]),
            mem,
            styled(c["health"]),
            c["url"] or "-",
            c["detail"] or "",
        )
    console.print(table)


def cards_table(rows: list[dict[str, Any]]) -> None:
    table = Table(show_edge=False, header_style="bold")
    for col in ("card", "version", "plugged", "state", "depends on", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"],
            r["version"],
            "yes" if r["plugged"] else "no",
            styled(r["state"]),
            ", ".join(r["depends_on"]) or "-",
            r["description"],
        )
    console.print(table)


def event_line(event: Any) -> None:
    data = json.dumps(event.data, default=str)
    console.print(
        f"[dim]{event.time}[/] [bold]{event.type}[/] "
        f"[cyan]{event.source.get('card')}[/]:{event.source.get('pid')} {data}",
        soft_wrap=True,
    )


def log_line(record: dict[str, Any]) -> None:
    level = record.get("level", "info")
    style = {"error": "red", "critical": "bold red", "warning": "yellow", "debug": "dim"}.get(
        level, ""
    )
    text = (
        f"{record.get('time', '')} {record.get('card', '')}[{record.get('pid', '')}] "
        f"{level}: {record.get('event', '')}"
    )
    console.print(Text(text, style=style), soft_wrap=True)
    if record.get("exc"):
        console.print(Text(record["exc"]))


def keys_table(rows: list[dict[str, Any]]) -> None:
    table = Table(show_edge=False, header_style="bold")
    optional = ("created", "expires", "last_used", "revoked")
    cols = ("name", "role", "key", *(c for c in optional if any(r.get(c) for r in rows)))
    for col in cols:
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(*(str(r.get(col) or "") for col in cols))
    console.print(table)
