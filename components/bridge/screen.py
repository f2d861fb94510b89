"""What `mobo bridge:*` draws: a progress bar while copying, a table of jobs.

The card's only rich import, as `mobo/cli/render.py` is the kernel CLI's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from mobo.cli.render import console

from .copy import CopyResult
from .copy import Progress as CopyProgress

PHASES = {"copy": "copying", "verify": "verifying"}
STATE_STYLE = {"done": "green", "copying": "yellow", "verifying": "cyan", "failed": "red"}


class RateColumn(ProgressColumn):
    """Rows per second, from the task's own speed estimate."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "- rows/s", style="cyan")


class Bar:
    """A rich progress bar fed by copy_table's progress callback; one line per phase."""

    def __init__(self, progress: Progress, label: str) -> None:
        self._progress, self._label = progress, label
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, report: CopyProgress) -> None:
        task = self._tasks.get(report.phase)
        if task is None:
            text = f"{PHASES.get(report.phase, report.phase)} {self._label}"
            task = self._progress.add_task(text, total=report.total)
            self._tasks[report.phase] = task
        self._progress.update(task, completed=report.rows, total=report.total)


@contextmanager
def progress_bar(label: str) -> Iterator[Bar]:
    """Draw a bar (rows, rows/s, ETA) on stderr for the duration of the block."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with progress:
        yield Bar(progress, label)


def copied(result: CopyResult) -> None:
    """Print the one-line summary of a verified copy."""
    created = " (created the target table)" if result.created else ""
    resumed = f", resumed after {result.resumed_from:,} rows" if result.resumed_from else ""
    console.print(
        f"[green]✓[/] copied {result.rows:,} rows {result.source} → {result.target} in "
        f"{result.seconds:.1f} s ({result.rows_per_s:,.0f} rows/s{resumed}){created}; "
        f"verified: row count and checksum {result.checksum}"
    )


def jobs_table(jobs: list[dict[str, Any]]) -> None:
    """Print the copy jobs found in the stores' checkpoint tables."""
    if not jobs:
        console.print("[dim]no copy jobs[/]")
        return
    table = Table(show_edge=False, header_style="bold")
    for name in ("store", "job", "state", "rows", "updated", "error"):
        table.add_column(name)
    for job in jobs:
        table.add_row(
            job["store"],
            job["job"],
            f"[{STATE_STYLE.get(job['state'], 'dim')}]{job['state']}[/]",
            f"{job['rows']:,}",
            job["updated_at"] or "-",
            job.get("error") or "",
        )
    console.print(table)
