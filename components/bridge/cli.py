"""`mobo bridge:copy` and `mobo bridge:status` (declared in the manifest's provides.cli).

Imported by every `mobo` invocation to register the commands: the heavy imports (the
adapters, rich) wait until a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from components.datastore.settings import StoreSettings

DEFAULT_BATCH = 10_000  # = copy.DEFAULT_BATCH, kept here so `mobo --help` stays light


@click.command("bridge:copy")
@click.argument("source", metavar="SRC_STORE.TABLE")
@click.argument("target", metavar="DST_STORE.TABLE")
@click.option(
    "--batch",
    type=click.IntRange(1, 1_000_000),
    default=DEFAULT_BATCH,
    show_default=True,
    help="Rows per batch (and per target transaction).",
)
@click.option(
    "--resume/--restart",
    default=True,
    show_default=True,
    help="Continue an interrupted copy after its last checkpoint, or empty the target "
    "table this job wrote and start over.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Processes reading and converting batches [default: 2, or 1 on a single core].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.pass_obj
def copy_command(
    home: Path | None,
    source: str,
    target: str,
    batch: int,
    resume: bool,
    workers: int | None,
    as_json: bool,
) -> None:
    """Copy a table between two stores (any engines), then verify it by checksum."""
    from components.datastore import Datastores
    from mobo.cli import render
    from mobo.exceptions import DatastoreError
    from mobo.kernel.config import load_config

    from . import screen
    from .copy import DEFAULT_WORKERS, copy_table

    (src_name, src_table), (dst_name, dst_table) = _split(source), _split(target)
    stores = Datastores.from_config(load_config(home))  # no bus: a copy announces no rows
    try:  # a store that cannot open is the command's error, not a copy's (never JSON)
        src, dst = stores[src_name], stores[dst_name]
    except BaseException:
        stores.close()
        raise
    workers = workers or DEFAULT_WORKERS
    try:
        if as_json:
            result = copy_table(src, src_table, dst, dst_table,
                                batch=batch, resume=resume, workers=workers)  # fmt: skip
        else:
            with screen.progress_bar(f"{source} → {target}") as bar:
                result = copy_table(src, src_table, dst, dst_table,
                                    batch=batch, resume=resume, progress=bar,
                                    workers=workers)  # fmt: skip
    except DatastoreError as exc:
        if not as_json:
            raise
        render.print_json({"error": _error_body(exc)})
        raise SystemExit(1) from None
    finally:
        stores.close()
    if as_json:
        render.print_json(result.as_dict())
    else:
        screen.copied(result)


@click.command("bridge:status")
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as a JSON list.")
@click.pass_obj
def status_command(home: Path | None, as_json: bool) -> None:
    """List the copy jobs recorded in every store's checkpoint table."""
    from dataclasses import asdict

    from components.datastore.registry import build_adapter
    from components.datastore.specs import board_stores
    from mobo.cli import render
    from mobo.exceptions import DatastoreError
    from mobo.kernel.config import load_config

    from . import screen
    from .checkpoint import Checkpoints

    jobs: list[dict[str, object]] = []
    for name, settings in board_stores(load_config(home)).items():
        if _missing_file(settings):
            continue  # a SQLite store never opened holds no jobs; opening it would create it
        try:
            store = build_adapter(name, settings)
        except DatastoreError as exc:
            render.error(f"store {name}: {exc}", exc.hint)
            continue
        try:
            jobs.extend({"store": name, **asdict(job)} for job in Checkpoints(store).all())
        finally:
            store.close()
    if as_json:
        render.print_json(jobs)
    else:
        screen.jobs_table(jobs)


def _missing_file(settings: StoreSettings) -> bool:
    path = settings.path or ":memory:"
    return settings.engine == "sqlite" and (path == ":memory:" or not Path(path).exists())


def _split(ref: str) -> tuple[str, str]:
    store, dot, table = ref.partition(".")
    if not (store and dot and table):
        raise click.UsageError(f"{ref!r}: write STORE.TABLE, for example main.people")
    return store, table


def _error_body(exc: Exception) -> dict[str, object]:
    body = {name: getattr(exc, name, None) for name in ("code", "message", "details", "hint")}
    body["message"] = body["message"] or str(exc)
    for name in ("table", "key", "column"):
        if hasattr(exc, name):
            body[name] = getattr(exc, name)
    return body


COMMANDS = [copy_command, status_command]
