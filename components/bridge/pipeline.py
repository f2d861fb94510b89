"""Overlap writing with reading: the target commits batch n while batch n+1 is prepared.

The writer thread spends its time waiting for the target (psycopg and the other drivers
release the GIL while they wait), so the target's work runs beside the reading and
converting of the next batch. Batches stay in order and each is committed with its
checkpoint, so stopping at any point leaves a consistent, resumable job.

Reading is not given a thread: sqlite3 releases the GIL around every row it steps, and
a reader thread contending with the converting one made copies slower, not faster.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")
POLL_S = 0.1  # how often a blocked submit looks whether the writer has failed
_END = object()


class Committer(Generic[T]):
    """Commit items in order in a worker thread, `depth` behind the caller.

    `submit` raises the worker's error, if any; `done()` returns the items committed
    since the last call. Leaving the block waits for every item submitted (they are
    valid batches even when the caller stopped on a later one); after the worker fails,
    it drops the items that follow.
    """

    def __init__(self, commit: Callable[[T], None], depth: int = 1) -> None:
        self._commit = commit
        self._todo: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._done: queue.Queue[T] = queue.Queue()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="bridge-write", daemon=True)

    def __enter__(self) -> Committer[T]:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._todo.put(_END)
        self._thread.join()
        if kind is None and self.error is not None:
            raise self.error

    def submit(self, item: T) -> None:
        """Queue an item, waiting while the worker is `depth` items behind."""
        while True:
            self._raise()
            try:
                self._todo.put(item, timeout=POLL_S)
                return
            except queue.Full:
                continue

    def done(self) -> list[T]:
        """Return the items committed since the last call, in order."""
        items = []
        while True:
            try:
                items.append(self._done.get_nowait())
            except queue.Empty:
                return items

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def _work(self) -> None:
        while True:
            item = self._todo.get()
            if item is _END:
                return
            if self.error is not None:
                continue  # drop what follows a failure
            try:
                self._commit(item)  # type: ignore[arg-type]
            except BaseException as exc:  # raised in the caller's thread
                self.error = exc
                continue
            self._done.put(item)  # type: ignore[arg-type]
