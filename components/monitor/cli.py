"""`mobo health:check`, `health:report`, `health:watch` and `mobo monitor`."""

from __future__ import annotations

import sys
import time

import click

from mobo.kernel.config import Config, home_from_env, load_config


def _config(ctx: click.Context) -> Config:
    return load_config(home_from_env(ctx.obj))


@click.command("health:check")
@click.argument("card", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def health_check(ctx: click.Context, card: str | None, as_json: bool) -> None:
    """Run every card's checks once now; exit 1 when anything is not healthy."""
    from components.monitor import render
    from components.monitor.checks import check_now
    from mobo.cli.render import print_json

    rows = check_now(_config(ctx), card)
    if as_json:
        print_json(rows)
    else:
        render.show(render.checks_table(rows))
    if not rows or not all(r["ok"] for r in rows):
        sys.exit(1)


@click.command("health:report")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def health_report(ctx: click.Context, as_json: bool) -> None:
    """Show the monitor's last report: every card's health and the system."""
    from components.monitor import render
    from components.monitor.report import read_report
    from mobo.cli.render import print_json

    report = read_report(_config(ctx))
    if as_json:
        print_json(report)
    else:
        render.show(render.report_view(report))


@click.command("health:watch")
@click.option(
    "--every",
    type=click.FloatRange(0.2, 3600),
    default=2.0,
    show_default=True,
    help="Seconds between refreshes.",
)
@click.pass_context
def health_watch(ctx: click.Context, every: float) -> None:
    """Keep the health report on screen, refreshed (Ctrl-C to leave)."""
    from rich.live import Live

    from components.monitor import render
    from components.monitor.report import read_report

    config = _config(ctx)
    with Live(
        render.report_view(read_report(config)), console=render.console, auto_refresh=False
    ) as live:
        try:
            while True:
                time.sleep(every)
                live.update(render.report_view(read_report(config)), refresh=True)
        except KeyboardInterrupt:
            pass


@click.command("monitor")
@click.pass_context
def monitor(ctx: click.Context) -> None:
    """The live dashboard: cards, health, requests, events — fed by the bus."""
    from components.monitor.dashboard import run_dashboard

    run_dashboard(_config(ctx))


COMMANDS = [health_check, health_report, health_watch, monitor]
