"""Read and convert batches in worker processes, committed in order by the caller.

One Python process reads about 1.3 million rows a second from SQLite, or converts and
checksums fewer: on a machine with several cores, a copy is faster when the reading,
converting, checksumming and spelling of COPY text happens in `workers` processes, each
on its own connection to the source. The calling process only finds the batches' key
ranges (`stream.boundaries`: keys only, from the primary key's index), hands them out,
and takes the prepared batches back in key order, to commit each with its checkpoint
exactly as a copy in one process does; resuming, refusals and verification are the same.

Workers are forked (they inherit the plan and the imported modules, and open their own
source connection: never one of the parent's). A value a worker refuses comes back with
its row, so the error names it as usual; a batch the *target* refuses is read again by
the parent to name its row.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from components.datastore import Adapter
from components.datastore.registry import build_adapter
from mobo.exceptions import BridgeError

from .checksum import Checksum
from .convert import BadValue, Refused
from .drivers import Row
from .plan import Plan
from .stream import Converters, Payload, Side, boundaries, read_range

Key = tuple[object, ...]
AHEAD = 2  # batches handed out per worker before the first comes back
_worker: dict[str, Any] = {}  # in a worker process: its source side and converters


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch read and converted by a worker."""

    after: Key | None
    upto: Key | None
    payload: Payload
    checksum: Checksum
    last_key: Key


@dataclass(frozen=True, slots=True)
class Rejected:
    """A batch in which a worker refused a value: the row, and why (BadValue's fields)."""

    row: Row
    index: int
    column: int | None
    code: str
    reason: str
    hint: str | None

    def bad_value(self) -> BadValue:
        return BadValue(self.index, Refused(self.code, self.reason, self.hint), self.column)


def usable(adapter: Adapter, workers: int) -> bool:
    """Tell whether a source can be read by `workers` processes (not an in-memory SQLite)."""
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return False
    path = getattr(adapter.settings, "path", None)
    return not (adapter.engine == "sqlite" and (path is None or path == ":memory:"))


class Workers:
    """A pool of worker processes reading and converting one copy's batches.

    Forked when the block is entered, before the copy starts its writer thread; leaving
    the block stops them (an unfinished copy's batches are simply not taken).
    """

    def __init__(self, source: Side, plan: Plan, workers: int) -> None:
        self.source, self.plan, self.workers = source, plan, workers
        self._pool: Any = None

    def __enter__(self) -> Workers:
        adapter = self.source.adapter
        args = (adapter.name, adapter.settings, self.plan)
        context = multiprocessing.get_context("fork")
        self._pool = context.Pool(self.workers, initializer=_start, initargs=args)
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.terminate()
        self._pool.join()

    def batches(self, size: int, after: Key | None) -> Iterator[Prepared | Rejected]:
        """Yield the batches after `after`, prepared by the workers, in key order."""
        ranges = boundaries(self.source, size, after)
        pending: deque[Any] = deque()
        for task in ranges:
            pending.append(self._pool.apply_async(_prepare, (task,)))
            if len(pending) >= self.workers * AHEAD:
                break
        while pending:
            result = pending.popleft().get()
            task = next(ranges, None)
            if task is not None:
                pending.append(self._pool.apply_async(_prepare, (task,)))
            if result is not None:
                yield result


def _start(name: str, settings: Any, plan: Plan) -> None:
    gc.disable()  # batches make many tuples and no cycles
    try:
        adapter = build_adapter(name, settings)
        _worker["side"] = Side.of(adapter, plan, target=False)
        _worker["convert"] = Converters(plan)
    except Exception as exc:  # raised by the first task: a failed initializer loops forever
        _worker["error"] = BridgeError(
            f"a bridge worker process could not open the store {name}: {exc}",
            hint=getattr(exc, "hint", None) or "check the store, or copy with --workers 1",
        )


def _prepare(task: tuple[Key | None, Key | None]) -> Prepared | Rejected | None:
    if "error" in _worker:
        raise _worker["error"]
    after, upto = task
    side: Side = _worker["side"]
    rows = read_range(side, after, upto)
    if not rows:
        return None
    try:
        payload, checksum = _worker["convert"].prepared(rows)
    except BadValue as exc:
        why = exc.refused
        return Rejected(rows[exc.index], exc.index, exc.column, why.code, why.reason, why.hint)
    return Prepared(after, upto, payload, checksum, side.key_of(rows[-1]))
