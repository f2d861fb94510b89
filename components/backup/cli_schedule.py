"""`mobo backup:schedule` and `mobo backup:prune`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from mobo.contract import Board
from mobo.kernel.config import Config, home_from_env, load_config
from mobo.kernel.keys import Keys


def _config(ctx: click.Context) -> Config:
    return load_config(home_from_env(ctx.obj))


def _board(config: Config) -> Board:
    """A Board handle for this short-lived command (the CLI's own, named `cli`)."""
    from mobo.kernel.status import board_redis_url

    return Board(config, "cli", Keys(config.namespace), board_redis_url(config))


def _store(board: Board):  # type: ignore[no-untyped-def]
    import redis

    from components.backup.scheduler.store import ScheduleStore
    from mobo.exceptions import BusUnavailable

    try:
        board.redis.ping()
    except (redis.RedisError, OSError) as exc:
        raise BusUnavailable(
            f"cannot reach the board's Redis ({exc})", hint="start the board with `mobo boot`"
        ) from None
    return ScheduleStore.for_config(board.redis, board.keys, board.config.state_dir)


@click.command("backup:schedule")
@click.argument("cron", required=False)
@click.option("--store", "stores", multiple=True, help="Back up only this store (repeatable).")
@click.option("--label", default="", help="Label of the sets this schedule makes.")
@click.option("--list", "show", is_flag=True, help="List the schedules.")
@click.option("--remove", "remove", metavar="ID", help="Remove the schedule with this id.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def backup_schedule(
    ctx: click.Context,
    cron: str | None,
    stores: tuple[str, ...],
    label: str,
    show: bool,
    remove: str | None,
    as_json: bool,
) -> None:
    """Add a backup schedule ("CRON", times in UTC), or --list / --remove ID."""
    from components.backup.scheduler.cron import parse_cron

    chosen = [bool(cron), show, bool(remove)]
    if sum(chosen) != 1:
        raise click.UsageError(
            'give one of: a schedule ("0 3 * * *", "@daily", "@every 6h"), --list, --remove ID'
        )
    if cron:
        parse_cron(cron)  # a bad expression fails before Redis is asked anything
    board = _board(_config(ctx))
    store = _store(board)
    if remove:
        gone = store.remove(remove)
        _say(
            as_json, {"removed": gone.as_dict()}, f"removed backup schedule {gone.id} ({gone.cron})"
        )
    elif cron:
        _check_stores(board.config, stores)
        added = store.add(cron, tuple(stores), label)
        nxt = added.parsed.next(datetime.now(UTC)).isoformat()
        _say(
            as_json,
            {**added.as_dict(), "next": nxt},
            f"added backup schedule {added.id}: {added.cron}; next run {nxt}",
        )
    else:
        _list(store, as_json)


def _check_stores(config: Config, stores: tuple[str, ...]) -> None:
    """Fail now, naming the board's stores, rather than at every firing."""
    from components.backup.stores import selected_stores

    selected_stores(config, stores)


def _say(as_json: bool, data: dict[str, Any], text: str) -> None:
    from mobo.cli.render import console, print_json

    if as_json:
        print_json(data)
    else:
        console.print(text)


def _list(store: Any, as_json: bool) -> None:
    from rich.table import Table

    from mobo.cli.render import console, print_json

    now = datetime.now(UTC)
    rows = []
    for s in store.list():
        last = store.last_due(s)
        rows.append(
            {
                **s.as_dict(),
                "last_run": _iso(last) if last > s.created else None,
                "next": s.parsed.next(now).isoformat(),
            }
        )
    if as_json:
        print_json(rows)
        return
    table = Table(title="backup schedules (UTC)")
    for column in ("id", "schedule", "stores", "label", "last run", "next run"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["id"], r["cron"], ", ".join(r["stores"]) or "all", r["label"] or "-",
            r["last_run"] or "-", r["next"],
        )  # fmt: skip
    console.print(
        table if rows else 'no backup schedules (add one: mobo backup:schedule "0 3 * * *")'
    )


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


@click.command("backup:prune")
@click.option("--keep-last", type=click.IntRange(0), help="Keep the N newest good sets.")
@click.option("--keep-daily", type=click.IntRange(0), help="Keep the newest set of D days.")
@click.option("--keep-weekly", type=click.IntRange(0), help="Keep the newest set of W weeks.")
@click.option("--dry-run", is_flag=True, help="Only show what would be removed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def backup_prune(
    ctx: click.Context,
    keep_last: int | None,
    keep_daily: int | None,
    keep_weekly: int | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Remove backup sets the retention policy does not keep ([backup] keep_* by default)."""
    from components.backup.retention import policy_from_config, prune

    config = _config(ctx)
    policy = policy_from_config(
        config, keep_last=keep_last, keep_daily=keep_daily, keep_weekly=keep_weekly
    )
    result = prune(_board(config), policy, dry_run=dry_run)
    if as_json:
        from mobo.cli.render import print_json

        print_json(result.as_dict(dry_run=dry_run))
    else:
        _show_plan(result, dry_run)


def _show_plan(result: Any, dry_run: bool) -> None:
    from rich.table import Table

    from mobo.cli.render import console

    table = Table(title=f"backup:prune ({result.policy.describe()})")
    for column in ("set", "created (UTC)", "action", "why"):
        table.add_column(column)
    removing = "would remove" if dry_run else "removed"
    for v in result.verdicts:
        action = "[green]keep[/]" if v.keep else f"[red]{removing}[/]"
        table.add_row(v.id, v.created.strftime("%Y-%m-%d %H:%M:%S"), action, "; ".join(v.reasons))
    console.print(table if result.verdicts else "no backup sets")
    console.print(f"{len(result.kept)} kept, {len(result.removed)} {removing}")


COMMANDS = [backup_schedule, backup_prune]
