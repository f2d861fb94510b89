"""`mobo realtime:status`: the realtime card's app, ports, connections and channels."""

from __future__ import annotations

import json
from typing import Any

import click

from mobo.kernel.config import Config, home_from_env, load_config


def _config(ctx: click.Context) -> Config:
    return load_config(home_from_env(ctx.obj))


def status_report(config: Config, *, show_secret: bool = False) -> dict[str, Any]:
    """What `realtime:status --json` prints: settings, app, and the card's last stats."""
    import redis

    from mobo.exceptions import ConfigError
    from mobo.kernel.keys import Keys
    from mobo.kernel.redisconn import connect
    from mobo.kernel.status import board_redis_url

    from . import names
    from .credentials import signing_app
    from .settings import load_settings

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        raise click.ClickException(f"{exc} ({exc.hint})" if exc.hint else str(exc)) from None
    app = signing_app(config, settings)
    report: dict[str, Any] = {
        "enabled": "realtime" in config.extra and "realtime" not in config.cards.unplugged,
        "mode": "connector" if settings.connector else "server",
        "app_id": app.app_id,
        "key": app.key,
        "host": settings.host,
        "port": settings.port,
        "http_port": settings.http_port,
        "external": settings.external or None,
        "running": False,
        "connections": 0,
        "channels": {},
    }
    if show_secret:
        report["secret"] = app.secret
    try:
        client = connect(board_redis_url(config), timeout=1.0)
        raw = client.get(names.stats(Keys(config.namespace)))
    except (redis.RedisError, OSError):
        raw = None
    if raw:
        stats = json.loads(raw)
        report.update(
            running=True,
            connections=stats.get("connections", 0),
            channels=stats.get("channels", {}),
            delivered=stats.get("delivered", 0),
        )
    return report


@click.command("realtime:status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--show-secret", is_flag=True, help="Also print the app secret.")
@click.pass_context
def realtime_status(ctx: click.Context, as_json: bool, show_secret: bool) -> None:
    """Show MagWS: app id and key, ports, connections, channels and their subscribers."""
    from mobo.cli.render import print_json

    report = status_report(_config(ctx), show_secret=show_secret)
    if as_json:
        print_json(report)
        return
    _show(report)


def _show(report: dict[str, Any]) -> None:
    from rich.table import Table

    from mobo.cli.render import console

    state = "[green]running[/]" if report["running"] else "[yellow]not running[/]"
    if not report["enabled"]:
        state += " [dim](add a [realtime] section to mobo.toml to run it)[/]"
    console.print(f"MagWS {state}, mode [bold]{report['mode']}[/]")
    console.print(f"  app id {report['app_id']}  key {report['key']}")
    if report["mode"] == "connector":
        console.print(f"  publishing to {report['external']}")
    else:
        console.print(
            f"  ws://{report['host']}:{report['port']}/app/{report['key']}  "
            f"HTTP API http://{report['host']}:{report['http_port']}"
        )
    if "secret" in report:
        console.print(f"  secret {report['secret']}")
    console.print(f"  connections {report['connections']}")
    table = Table("channel", "subscribers", "members")
    for name, info in sorted(report["channels"].items()):
        members = str(info.get("user_count", "")) if name.startswith("presence-") else ""
        table.add_row(name, str(info.get("subscription_count", 0)), members)
    if report["channels"]:
        console.print(table)


COMMANDS = [realtime_status]
