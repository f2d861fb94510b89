"""What the backup commands draw (rich): the progress bar, the sets table, verdicts."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

import click
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mobo.cli.render import console, err_console

POLL_S = 0.2  # how often the CLI reads a followed job's state
FOLLOW_LIMIT_S = 7 * 86400


def human(size: int | float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def _bar(quiet: bool) -> Any:
    if quiet:
        return nullcontext(None)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def _show(bar: Any, task: Any, meta: dict[str, Any]) -> None:
    if bar is None or not meta.get("total"):
        return
    note = human(meta.get("bytes") or 0) if meta.get("bytes") else ""
    bar.update(
        task,
        total=meta["total"],
        completed=meta.get("done", 0),
        description=f"backup {meta.get('set_id') or meta.get('id', '')}: {meta.get('stage', '')}",
        note=note,
    )


def run_inline(
    config: Any, stores: Sequence[str] | None, label: str | None, *, quiet: bool
) -> dict[str, Any]:
    """Write a set in this process, with a progress bar."""
    from .create import create_set
    from .files import size_of
    from .report import Reporter

    with _bar(quiet) as bar:
        task = bar.add_task("backup", total=None, note="") if bar is not None else None
        with Reporter(config, lambda meta: _show(bar, task, meta)) as reporter:
            path = create_set(config, stores=stores, label=label, reporter=reporter)
    return {"id": path.name, "path": str(path), "size": size_of(path)}


def follow(config: Any, job_id: str, *, quiet: bool) -> dict[str, Any]:
    """Follow a queued backup job to its end (through retries); its result or a ClickException."""
    from rq.job import Job

    from .jobs import redis_of

    conn = redis_of(config)
    job = Job.fetch(job_id, connection=conn)
    told: set[str] = set()
    deadline = time.monotonic() + FOLLOW_LIMIT_S
    with _bar(quiet) as bar:
        task = bar.add_task(f"backup job {job_id}: queued", total=None, note="") if bar else None
        while time.monotonic() < deadline:
            job.refresh()
            status = job.get_status(refresh=False)
            _show(bar, task, job.meta)
            if status == "finished":
                return dict(job.return_value() or {})
            error = job.meta.get("error")
            if error and error not in told:
                told.add(error)
                if not quiet and status in ("scheduled", "queued", "started"):
                    err_console.print(f"[yellow]attempt failed:[/] {escape(error)}; retrying")
            if status in ("failed", "stopped", "canceled"):
                hint = job.meta.get("hint")
                reason = error or _last_line(job) or status
                raise click.ClickException(
                    f"backup job {job_id} {status}: {reason}" + (f" (hint: {hint})" if hint else "")
                )
            time.sleep(POLL_S)
    raise click.ClickException(f"backup job {job_id} did not end in time")


def _last_line(job: Any) -> str:
    result = job.latest_result()
    text = (getattr(result, "exc_string", None) or "").strip()
    return text.splitlines()[-1] if text else ""


def sets_table(sets: Sequence[Any]) -> None:
    if not sets:
        console.print("no backup sets yet (make one: mobo backup:create)")
        return
    table = Table(title="backup sets")
    for column in ("id", "created", "label", "stores", "size", "good", "verified"):
        table.add_column(column, no_wrap=column in ("id", "created", "size"))
    for s in sets:
        good = "[green]yes[/]" if s.good else f"[red]no[/] [dim]{escape(s.reason)}[/]"
        verified = {True: "[green]ok[/]", False: "[red]failed[/]", None: "[dim]-[/]"}[s.verified]
        table.add_row(
            s.id,
            f"{s.created:%Y-%m-%d %H:%M:%S}Z",
            escape(s.label or ""),
            ", ".join(s.stores),
            human(s.size),
            good,
            verified,
        )
    console.print(table)


@contextmanager
def spinner(*, quiet: bool) -> Iterator[Any]:
    """Yield a `step(text)` callback that shows what a long command is doing."""
    if quiet:
        yield lambda _text: None
        return
    with err_console.status("starting") as status:
        yield lambda text: status.update(escape(text))


def verdict(result: Any) -> None:
    if result.ok:
        console.print(
            f"[green]✓[/] backup set [bold]{result.id}[/] verified: checksums match, "
            "trial restore row counts match the manifest"
        )
        for name, counts in result.stores.items():
            console.print(f"  {name}: {len(counts)} tables, {sum(counts.values())} rows")
        return
    console.print(f"[red]✗[/] backup set [bold]{result.id}[/] failed verification:")
    for problem in result.problems:
        console.print(f"  - {escape(problem)}")


def restored(result: Any) -> None:
    console.print(f"[green]✓[/] restored backup set [bold]{result.id}[/]")
    if result.safety_set:
        console.print(f"  safety backup first: {result.safety_set}")
    if result.own_data:
        console.print(f"  own data: {', '.join(result.own_data)}")
    for note in result.notes:
        console.print(f"  [dim]{escape(note)}[/]")
    table = Table(title="rows per table after the restore")
    for column in ("store", "table", "rows"):
        table.add_column(column)
    for store, counts in result.stores.items():
        for name, rows in counts.items():
            table.add_row(store, name, str(rows))
    console.print(table)
    for mismatch in result.mismatches:
        console.print(f"[yellow]warning:[/] {escape(mismatch)}")
