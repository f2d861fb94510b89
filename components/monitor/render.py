"""Drawing health: tables for `health:*` (rich is imported only here and in dashboard.py)."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from mobo.cli.render import console, duration, styled


def checks_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(show_edge=False, header_style="bold", title="health check")
    for col in ("card", "health", "latency", "detail"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["card"], styled(r["state"]), f"{r['latency_ms']:.0f} ms", r["detail"])
    return table


def report_view(report: dict[str, Any]) -> Group:
    table = Table(show_edge=False, header_style="bold", title=f"health ({report['source']})")
    for col in ("card", "health", "latency", "failures", "restarts", "checked", "detail"):
        table.add_column(col)
    now = time.time()
    for name, r in sorted(report["cards"].items()):
        ago = f"{now - float(r['checked_at']):.0f}s ago" if r.get("checked_at") else "-"
        latency = f"{float(r['latency_ms']):.0f} ms" if r.get("latency_ms") else "-"
        table.add_row(
            name,
            styled(r.get("state")),
            latency,
            r.get("failures", "-"),
            r.get("restarts", "-"),
            ago,
            r.get("detail", ""),
        )
    return Group(table, system_view(report.get("system") or {}))


def system_view(system: dict[str, Any]) -> Table | Text:
    if not system:
        return Text("no system report yet (is the monitor card running?)", style="dim")
    mem = system.get("memory", {})
    uptime = system.get("uptime_s")
    title = (
        f"system: uptime {duration(uptime)}, load {system.get('load')}, memory "
        f"{mem.get('used_mb')}/{mem.get('total_mb')} MB ({mem.get('percent')} %)"
    )
    table = Table(show_edge=False, header_style="bold", title=title)
    for col in ("card", "pid", "processes", "cpu %", "rss", "sockets"):
        table.add_column(col)
    for name, c in sorted(system.get("cards", {}).items()):
        rss = f"{c['rss_mb']:.0f} MB" if c.get("rss_mb") is not None else "-"
        table.add_row(
            name,
            str(c.get("pid")),
            str(c.get("processes", "-")),
            str(c.get("cpu_percent")),
            rss,
            str(c.get("sockets")),
        )
    return table


def show(renderable: Any) -> None:
    console.print(renderable)
