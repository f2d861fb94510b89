"""MagBackup, the `backup` card: signed, verified backup sets of every store and of the
board itself, made by RQ jobs on the worker card.

    from components.backup.jobs import enqueue_backup
    from components.backup.sets import list_sets, delete_set

    job_id = enqueue_backup(board, stores=["main"], label="before upgrade")
    [s.id for s in list_sets(board) if s.good]

`mobo backup:create|list|verify|restore` drive it from the command line. The card's own
process is the backup scheduler (scheduler/loop.py, `mobo run backup`); the other modules
hold no main loop. See docs/backup.md.
"""

from __future__ import annotations

import importlib.util

from mobo.contract import Board, Card
from mobo.exceptions import ComponentFatal
from mobo.kernel.config import Config

SCHEDULER = "components.backup.scheduler.loop"


class BackupCard(Card):
    name = "backup"

    def wanted(self, config: Config) -> bool:
        """The process is the scheduler: wanted once that module is installed."""
        return importlib.util.find_spec(SCHEDULER) is not None

    def run(self, board: Board) -> None:
        if not self.wanted(board.config):
            raise ComponentFatal("the backup card has no scheduler installed")
        scheduler = importlib.import_module(SCHEDULER)
        scheduler.serve(board)


CARD = BackupCard()
