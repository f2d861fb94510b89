"""`mobo events:tail` and `mobo logs`: watch a board."""

from __future__ import annotations

import threading

import click

from mobo.kernel.config import home_from_env, load_config


@click.command("events:tail")
@click.argument("pattern", default="*")
@click.option(
    "-n",
    "count",
    type=click.IntRange(0, 100_000),
    default=20,
    show_default=True,
    help="How many past events to show.",
)
@click.option("-f", "--follow", is_flag=True, help="Keep showing new events.")
@click.option("--json", "as_json", is_flag=True, help="One JSON envelope per line.")
@click.pass_context
def events_tail(ctx: click.Context, pattern: str, count: int, follow: bool, as_json: bool) -> None:
    """Show the last events on the bus matching PATTERN (a glob: 'component.*')."""
    from mobo.cli import render
    from mobo.kernel.bus import Bus
    from mobo.kernel.keys import Keys
    from mobo.kernel.redisconn import connect
    from mobo.kernel.status import board_redis_url

    config = load_config(home_from_env(ctx.obj))
    bus = Bus(connect(board_redis_url(config), timeout=None), Keys(config.namespace), "cli")
    show = (lambda e: click.echo(e.to_json())) if as_json else render.event_line
    past = bus.history(count, pattern)
    for event in past:
        show(event)
    if follow:
        try:
            for event in bus.follow(pattern, after=past.cursor):
                show(event)
        except KeyboardInterrupt:
            pass


@click.command()
@click.argument("card", required=False)
@click.option("-n", "lines", type=click.IntRange(0, 100_000), default=50, show_default=True)
@click.option("-f", "--follow", is_flag=True, help="Keep showing new lines.")
@click.pass_context
def logs(ctx: click.Context, card: str | None, lines: int, follow: bool) -> None:
    """Show the board's JSON logs (one card's, or all merged by time)."""
    from mobo.cli import render
    from mobo.kernel.logger import follow_logs, read_logs
    from mobo.kernel.registry import Registry

    config = load_config(home_from_env(ctx.obj))
    if card and card != "kernel":
        Registry.discover().get(card)
    for record in read_logs(config.log_dir, card, lines):
        render.log_line(record)
    if follow:
        stop = threading.Event()
        try:
            for record in follow_logs(config.log_dir, card, stop=stop):
                render.log_line(record)
        except KeyboardInterrupt:
            stop.set()


COMMANDS = [events_tail, logs]
