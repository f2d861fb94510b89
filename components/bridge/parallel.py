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
import pickle
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
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
Task = tuple[Key | None, Key | None]  # a batch's key range: after, up to
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
    """Worker processes reading and converting one copy's batches, one pipe each.

    Forked when the block is entered, before the copy starts its writer thread; leaving
    the block stops them (an unfinished copy's batches are simply not taken). Batch k
    goes to worker k modulo their number and is taken back from that worker's pipe in
    the same turn, so batches come back in key order without a pool's handler threads
    (multiprocessing.Pool's cost about 0.2 CPU-seconds per million rows here).
    """

    def __init__(self, source: Side, plan: Plan, workers: int) -> None:
        self.source, self.plan, self.workers = source, plan, workers
        self._procs: list[Any] = []
        self._pipes: list[Connection] = []

    def __enter__(self) -> Workers:
        adapter = self.source.adapter
        context = multiprocessing.get_context("fork")
        for _ in range(self.workers):
            mine, theirs = context.Pipe()
            args = (theirs, adapter.name, adapter.settings, self.plan)
            proc = context.Process(target=_serve, args=args, name="bridge-worker", daemon=True)
            proc.start()
            theirs.close()
            self._procs.append(proc)
            self._pipes.append(mine)
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self._procs:
            proc.terminate()
        for proc, pipe in zip(self._procs, self._pipes, strict=True):
            proc.join()
            pipe.close()

    def batches(self, size: int, after: Key | None) -> Iterator[Prepared | Rejected]:
        """Yield the batches after `after`, prepared by the workers, in key order."""
        ranges = enumerate(boundaries(self.source, size, after))
        pending: deque[Connection] = deque()
        for number, task in ranges:
            pending.append(self._send(number, task))
            if len(pending) >= self.workers * AHEAD:
                break
        while pending:
            result = _received(pending.popleft())
            following = next(ranges, None)
            if following is not None:
                pending.append(self._send(*following))
            if result is not None:
                yield result

    def _send(self, number: int, task: Task) -> Connection:
        pipe = self._pipes[number % self.workers]
        pipe.send(task)
        return pipe


def _received(pipe: Connection) -> Prepared | Rejected | None:
    """Take a worker's next answer; raise what the worker raised (or its death)."""
    try:
        answer = pipe.recv()
    except (EOFError, OSError):
        raise BridgeError(
            "a bridge worker process stopped before finishing its batch",
            hint="look for an out-of-memory kill; copy with --workers 1 to find the cause",
        ) from None
    if isinstance(answer, Failed):
        raise answer.error
    return answer


@dataclass(frozen=True, slots=True)
class Failed:
    """What a worker raised while preparing a batch, raised again by the parent."""

    error: BaseException


def _serve(pipe: Connection, name: str, settings: Any, plan: Plan) -> None:
    """Run in a worker: prepare each key range received until the pipe closes."""
    _start(name, settings, plan)
    while True:
        try:
            task = pipe.recv()
        except EOFError:
            return
        try:
            answer: object = _prepare(task)
        except Exception as exc:
            answer = Failed(_picklable(exc))
        pipe.send(answer)


def _picklable(exc: Exception) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 -- our own object, round-tripped
    except Exception:
        return BridgeError(f"a bridge worker process failed: {exc!r}")
    return exc


def _start(name: str, settings: Any, plan: Plan) -> None:
    gc.disable()  # batches make many tuples and no cycles
    try:
        adapter = build_adapter(name, settings)
        _worker["side"] = Side.of(adapter, plan, target=False)
        _worker["convert"] = Converters(plan)
    except Exception as exc:  # raised by the first task, naming the store
        _worker["error"] = BridgeError(
            f"a bridge worker process could not open the store {name}: {exc}",
            hint=getattr(exc, "hint", None) or "check the store, or copy with --workers 1",
        )


def _prepare(task: Task) -> Prepared | Rejected | None:
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
