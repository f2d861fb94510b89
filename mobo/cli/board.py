"""`mobo init`, `boot`, `shutdown`, `status`, `run`."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import click

from mobo.kernel.config import home_from_env, load_config


def _home(ctx: click.Context) -> Path:
    return home_from_env(ctx.obj)


@click.command()
@click.option("--force", is_flag=True, help="Replace an existing config and its secrets.")
@click.option("--port", type=click.IntRange(1, 65535), help="Gateway port (default 8000).")
@click.pass_context
def init(ctx: click.Context, force: bool, port: int | None) -> None:
    """Make this folder (or --home) a board: mobo.toml, secrets, supervisord.conf."""
    from mobo.cli import render
    from mobo.kernel.home import init_home

    result = init_home(_home(ctx), force=force, port=port)
    render.console.print(
        f"[green]✓[/] board [bold]{result.board_id}[/] initialised in {result.home}"
    )
    render.console.print(f"  config:  {result.config_path}")
    render.console.print(f"  secrets: {result.secrets_path} [dim](mode 0600)[/]")
    render.console.print("  next:    [bold]mobo boot[/]")


@click.command()
@click.option(
    "--foreground",
    is_flag=True,
    help="Stay attached: run supervisord in this process (for containers).",
)
@click.pass_context
def boot(ctx: click.Context, foreground: bool) -> None:
    """Boot the board: POST, then every card under supervisord, until READY."""
    from mobo.cli import render
    from mobo.exceptions import BootError
    from mobo.kernel.boot import BootManager

    screen = render.BootScreen()
    manager = BootManager(_home(ctx), screen)
    caught: list[int] = []
    if foreground:  # from the start: a stop asked for during the boot is honoured after it
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: caught.append(signum))
    try:
        result = manager.boot(foreground=foreground)
    except BootError as exc:
        render.error(f"boot failed at {exc.check or 'boot'}: {exc}", exc.hint)
        sys.exit(1)
    render.boot_result(result)
    if foreground and not result.already_running:
        _stay_attached(_home(ctx), caught)


def _stay_attached(home: Path, caught: list[int]) -> None:
    """Wait for a signal (or supervisord's end), then shut the board down gracefully."""
    from mobo.kernel.lifecycle import Lifecycle

    lifecycle = Lifecycle(load_config(home))
    while not caught and lifecycle.supervisor.is_running():
        time.sleep(0.5)
    lifecycle.shutdown()


@click.command()
@click.pass_context
def shutdown(ctx: click.Context) -> None:
    """Stop every card in reverse dependency order, then supervisord."""
    from mobo.cli import render
    from mobo.kernel.lifecycle import Lifecycle

    order = Lifecycle(load_config(_home(ctx))).shutdown()
    if not order:
        render.console.print("The board is not running.")
        return
    render.console.print(f"[green]✓[/] stopped {', '.join(order)}; the board is off")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show every card: state, pid, uptime, memory, health, URL."""
    from mobo.cli import render
    from mobo.kernel.status import collect

    report = collect(load_config(_home(ctx))).to_dict()
    if as_json:
        render.print_json(report)
    else:
        render.status_table(report)


@click.command()
@click.argument("card")
def run(card: str) -> None:
    """Run one card in the foreground (what supervisor runs for each card)."""
    from mobo.runner import run_card

    sys.exit(run_card(card))


COMMANDS = [init, boot, shutdown, status, run]  # keys:* come from the auth card
