"""`mobo backup:create|list|verify|restore` (and the scheduler's `backup:schedule|prune`).

Imported by every `mobo` invocation to register the commands: the heavy imports wait
until a command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .cli_schedule import COMMANDS as _SCHEDULE


def _config(home: Path | None) -> Any:
    from mobo.kernel.config import load_config

    return load_config(home)


@click.command("backup:create")
@click.option(
    "--store",
    "stores",
    multiple=True,
    metavar="NAME",
    help="Back up only this store (repeat for several; default: every store).",
)
@click.option("--label", help="A note kept in the set's manifest.")
@click.option("--detach", is_flag=True, help="Print the job id and return at once.")
@click.option(
    "--inline",
    is_flag=True,
    help="Run the backup in this process instead of on the board's worker "
    "(no booted board needed).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.pass_obj
def create_command(
    home: Path | None,
    stores: tuple[str, ...],
    label: str | None,
    detach: bool,
    inline: bool,
    as_json: bool,
) -> None:
    """Back up the board's stores and its own data into a new signed set."""
    from mobo.cli import render

    from . import screen
    from .jobs import enqueue_backup, workers_serving

    config = _config(home)
    chosen = list(stores) if stores else None
    if inline:
        result = screen.run_inline(config, chosen, label, quiet=as_json)
    else:
        if not workers_serving(config):
            raise click.ClickException(
                f"no worker of board {config.board.id} is running to take the backup job; "
                "boot the board (`mobo boot`), or run it here with `mobo backup:create --inline`"
            )
        job_id = enqueue_backup(config, chosen, label)
        if detach:
            if as_json:
                render.print_json({"job": job_id})
            else:
                render.console.print(f"backup job [bold]{job_id}[/] queued")
            return
        result = screen.follow(config, job_id, quiet=as_json)
    if as_json:
        render.print_json(result)
    else:
        render.console.print(
            f"[green]✓[/] backup set [bold]{result['id']}[/] written: "
            f"{result['path']} ({screen.human(result['size'])})"
        )


@click.command("backup:list")
@click.option("--json", "as_json", is_flag=True, help="Print the sets as a JSON list.")
@click.pass_obj
def list_command(home: Path | None, as_json: bool) -> None:
    """List the backup sets, newest first: id, created, stores, size, good, verified."""
    from mobo.cli import render

    from . import screen
    from .sets import list_sets

    sets = list_sets(_config(home))
    if as_json:
        render.print_json([s.as_dict() for s in sets])
    else:
        screen.sets_table(sets)


@click.command("backup:verify")
@click.argument("set_id", metavar="ID")
@click.option(
    "--from",
    "source",
    type=click.Path(file_okay=False, path_type=Path),
    help="A set's folder from elsewhere (signed by this board).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object.")
@click.pass_obj
def verify_command(home: Path | None, set_id: str, source: Path | None, as_json: bool) -> None:
    """Check a set's signature and checksums, then trial-restore it into scratch."""
    from mobo.cli import render

    from . import screen
    from .restore import _locate
    from .verify import verify_set

    config = _config(home)
    path = _locate(config, set_id, source)
    with screen.spinner(quiet=as_json) as step:
        verdict = verify_set(config, path, step=step)
    if as_json:
        render.print_json(verdict.as_dict())
    else:
        screen.verdict(verdict)
    if not verdict.ok:
        sys.exit(1)


@click.command("backup:restore")
@click.argument("set_id", metavar="ID", required=False)
@click.option(
    "--store",
    "stores",
    multiple=True,
    metavar="NAME",
    help="Restore only this store (repeat for several; default: every store).",
)
@click.option(
    "--from",
    "source",
    type=click.Path(file_okay=False, path_type=Path),
    help="Restore a set's folder from elsewhere (e.g. a lost machine's); its own "
    "data (mobo.toml, secrets) is restored too.",
)
@click.option(
    "--trust-foreign", is_flag=True, help="Accept a set signed by another board (needs --secret)."
)
@click.option(
    "--secret",
    metavar="OLD_SECRET",
    help="The backup_secret of the board that made the set ('-': read it from stdin).",
)
@click.option("--no-safety-backup", is_flag=True, help="Do not back up the current data first.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.pass_obj
def restore_command(
    home: Path | None,
    set_id: str | None,
    stores: tuple[str, ...],
    source: Path | None,
    trust_foreign: bool,
    secret: str | None,
    no_safety_backup: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Restore a verified set: a safety backup first, then the stores (and own data)."""
    from mobo.cli import render

    from . import screen
    from .restore import restore_set

    if secret == "-":  # noqa: S105 - "-" means: read it from stdin
        secret = sys.stdin.readline().strip()
    if secret and not trust_foreign:
        raise click.UsageError("--secret is for a foreign set: add --trust-foreign")
    config = _config(home)
    if not yes and sys.stdin.isatty():
        what = ", ".join(stores) if stores else "every store in the set"
        click.confirm(f"Replace {what} of board {config.board.id} with the set?", abort=True)
    with screen.spinner(quiet=as_json) as step:
        result = restore_set(
            config,
            set_id,
            source=source,
            stores=list(stores) or None,
            trust_foreign=trust_foreign,
            secret=secret,
            safety=not no_safety_backup,
            step=step,
        )
    if as_json:
        render.print_json(result.as_dict())
    else:
        screen.restored(result)


COMMANDS = [create_command, list_command, verify_command, restore_command, *_SCHEDULE]
