"""copy_table: copy one table between any two stores, resumably, and prove it complete.

    result = copy_table(main, "people", pg, "people", batch=10_000, progress=print)
    result.rows, result.seconds, result.checksum, result.verified

The copy plans both sides (creating the target table if missing), starts or resumes
its job (`checkpoint.py`), streams batches in key order, each written with its
checkpoint in one target transaction, then verifies: the source's row count and the
checksum of every target row must equal what was copied. Into PostgreSQL (integer keys,
columns `pgsum` can spell) each batch's rows are checksummed by the server in the
batch's own transaction (`batchcheck.py`), and the end only compares row counts; else
the whole target table is checksummed at the end. Only then is the job `done` and a
result returned; anything else raises (`UnrepresentableValue`, `VerificationFailed`, a
`DatastoreError`) and leaves the job resumable.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import asdict, dataclass
from functools import partial

from components.datastore import Adapter
from mobo.exceptions import BridgeError, VerificationFailed

from .batchcheck import BatchCheck
from .checkpoint import Checkpoints, Job
from .checksum import VERIFIED, Checksum
from .convert import BadValue
from .drivers import Row
from .jobs import record_failure, start_job
from .keys import dump_key, load_key
from .parallel import Rejected, Workers, usable
from .pgsum import checksum_sql, server_checksum
from .pipeline import Committer
from .plan import Plan, plan_copy
from .refusals import refused, unreadable, write_refused
from .stream import (
    Converters,
    Payload,
    Side,
    WriteFailed,
    count_rows,
    read_batches,
    read_range,
    write_batch,
)

DEFAULT_BATCH = 10_000  # rows per batch (and per target transaction)
DEFAULT_WORKERS = min(2, os.cpu_count() or 1)  # processes reading and converting batches
Key = tuple[object, ...]
Reread = Callable[[], list[Row]]  # the batch's source rows, to name one the target refuses
Range = tuple[Key | None, Key, Checksum]  # a batch's keys (after, up to) and checksum
Batch = tuple[Reread, Payload, Job, Range]  # a batch for the writer, with its checkpoint
Prepared = tuple[Reread, Payload, Checksum, Key | None, Key]  # checksum, after, last key


@dataclass(frozen=True, slots=True)
class CopyResult:
    """A finished, verified copy. `seconds` is this run's; `resumed_from` rows were earlier."""

    rows: int
    seconds: float
    checksum: str
    verified: bool
    source: str = ""
    target: str = ""
    created: bool = False
    resumed_from: int = 0

    @property
    def rows_per_s(self) -> float:
        return (self.rows - self.resumed_from) / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "rows_per_s": round(self.rows_per_s, 1)}


@dataclass(frozen=True, slots=True)
class Progress:
    """Reported after each committed batch (`copy`) and each verified one (`verify`)."""

    phase: str
    rows: int
    total: int
    elapsed_s: float
    batches: int


def copy_table(
    src: Adapter,
    src_table: str,
    dst: Adapter,
    dst_table: str,
    *,
    batch: int = DEFAULT_BATCH,
    resume: bool = True,
    progress: Callable[[Progress], object] | None = None,
    workers: int = DEFAULT_WORKERS,
) -> CopyResult:
    """Copy `src_table` of `src` into `dst_table` of `dst`; see the module docstring.

    `resume=False` forgets the job's checkpoint and empties the target table first (only
    a table this job wrote: rows nobody copied are never deleted). An exception raised
    by `progress` stops the copy after a committed batch; it resumes from there.
    `workers` processes read and convert the batches when there are more than two batches
    (`parallel.py`; 1: all in this process).
    """
    if batch < 1:
        raise BridgeError(f"batch must be at least 1, not {batch}")
    if workers < 1:
        raise BridgeError(f"workers must be at least 1, not {workers}")
    started = time.perf_counter()
    plan = plan_copy(src, src_table, dst, dst_table)
    return _Copy(src, dst, plan, batch, progress or _quiet, started, workers).run(resume)


class _Copy:
    """One run of one copy job."""

    def __init__(
        self,
        src: Adapter,
        dst: Adapter,
        plan: Plan,
        batch: int,
        progress: Callable[[Progress], object],
        started: float,
        workers: int = 1,
    ) -> None:
        self.plan, self.batch, self.progress, self.started = plan, batch, progress, started
        self.workers = workers  # processes reading and converting batches
        self.source = Side.of(src, plan, target=False)
        self.target = Side.of(dst, plan, target=True)
        self.convert = Converters(plan)
        self.checkpoints = Checkpoints(dst)
        self.names = (f"{src.name}.{plan.source_table}", f"{dst.name}.{plan.target_table}")
        self.job = Job(f"{self.names[0]} -> {plan.target_table}", *self.names)
        self.batches = 0  # committed in this run
        self.check: BatchCheck | None = None  # verifying each batch (`batchcheck.py`)

    def run(self, resume: bool) -> CopyResult:
        created = self.plan.created
        self.job = start_job(self.checkpoints, self.job, self.target, created=created,
                             resume=resume)  # fmt: skip
        resumed = self.job.rows
        try:
            with _gc_paused():
                copied = self._copy()
                self._verify(copied)
        except BaseException as exc:
            record_failure(self.checkpoints, self.job, exc)
            raise
        return CopyResult(
            copied.rows, self._elapsed(), copied.hex, True, *self.names,
            created=created, resumed_from=resumed,
        )  # fmt: skip

    # -- copy ---------------------------------------------------------------------------

    def _copy(self) -> Checksum:
        job = self.job
        copied = Checksum.from_recorded(job.rows, job.checksum)
        if copied is None:
            raise BridgeError(
                f"{job.job} was interrupted under an earlier MagBridge, whose checksum "
                "cannot be carried on",
                hint="pass --restart to copy it again from the start",
            )
        after = load_key(job.last_key) if job.last_key else None
        if copied.rows == 0 or job.checksum.startswith(VERIFIED):  # every batch so far
            self.check = BatchCheck.of(self.plan, self.target, self.names[1])
        total = max(count_rows(self.source), copied.rows)
        parallel = usable(self.source.adapter, self.workers)
        parallel = parallel and total - copied.rows > 2 * self.batch
        with ExitStack() as stack:
            if parallel:
                workers = stack.enter_context(Workers(self.source, self.plan, self.workers))
                batches = self._in_workers(workers, after)
            else:
                batches = self._in_process(after)
            stack.enter_context(closing(batches))
            committer = stack.enter_context(Committer(self._commit))
            for reread, payload, part, first, last_key in batches:
                copied = copied + part
                job = job.advanced(
                    state="copying",
                    last_key=dump_key(last_key),
                    rows=copied.rows,
                    checksum=copied.recorded_as(verified=self.check is not None),
                )
                committer.submit((reread, payload, job, (first, last_key, part)))
                self._committed(committer.done(), total)
        self._committed(committer.done(), total)
        return copied

    def _in_process(self, after: Key | None) -> Iterator[Prepared]:
        """Read and convert the batches here, one after the other."""
        for rows in read_batches(self.source, self.batch, after):
            try:
                payload, part = self.convert.prepared(rows)
            except BadValue as exc:
                raise refused(self.plan, self.source, self.names[1], rows[exc.index], exc) from None
            last = self.source.key_of(rows[-1])
            yield (lambda rows=rows: rows), payload, part, after, last
            after = last

    def _in_workers(self, workers: Workers, after: Key | None) -> Iterator[Prepared]:
        """Take the batches worker processes read and convert (`parallel.py`)."""
        for batch in workers.batches(self.batch, after):
            if isinstance(batch, Rejected):
                exc = batch.bad_value()
                raise refused(self.plan, self.source, self.names[1], batch.row, exc)
            reread = partial(read_range, self.source, batch.after, batch.upto)
            yield reread, batch.payload, batch.checksum, batch.after, batch.last_key

    def _committed(self, batches: list[Batch], total: int) -> None:
        for _, _, job, _ in batches:
            self.batches += 1
            self._report("copy", job.rows, max(total, job.rows), self.batches)

    def _commit(self, batch: Batch) -> None:
        """Write a batch and its checkpoint in one target transaction (the writer thread)."""
        reread, payload, job, (after, last, part) = batch
        with self.target.adapter.transaction() as tx:
            try:
                write_batch(self.target, tx.connection, payload)
            except WriteFailed as exc:
                failure = exc.failure
                rows = reread()
                raise write_refused(self.plan, self.source, self.names[1], rows, failure) from exc
            if self.check is not None:
                self.check.verify(tx.connection, after, last, part, payload)
            self.checkpoints.save(job, tx)
        self.job = job

    # -- verify -------------------------------------------------------------------------

    def _verify(self, copied: Checksum) -> None:
        self._save(self.job.advanced(state="verifying"))
        source_rows = count_rows(self.source)
        if self.check is not None:  # each batch's rows were verified: are there others?
            seen = Checksum(count_rows(self.target), copied.total)
            self._report("verify", seen.rows, copied.rows, 1)
        else:
            seen = self._on_server(copied.rows) or self._read_back(copied.rows)
        if seen != copied or source_rows != copied.rows:
            raise VerificationFailed(
                f"{self.names[1]} does not match {self.names[0]}: copied {copied.rows} rows "
                f"(checksum {copied.hex}), the source now has {source_rows}, the target "
                f"{seen.rows} (checksum {seen.hex})",
                hint="if the source was written during the copy, copy again with --restart "
                "when it is quiet; otherwise report this as a MagBridge bug",
            )
        self._save(self.job.advanced(state="done", error=None))

    def _on_server(self, expected: int) -> Checksum | None:
        """Return the target table's checksum computed by PostgreSQL (`pgsum.py`), or None
        where it cannot be (another engine, a column without an SQL spelling)."""
        target = self.target
        if target.adapter.engine != "postgres":
            return None
        sql = checksum_sql(target.driver.table(target.table), self.plan.columns,
                           target.driver.quote)  # fmt: skip
        if sql is None:
            return None
        with target.adapter.transaction() as tx:
            seen = server_checksum(tx.connection, sql)
        if seen is not None:
            self._report("verify", seen.rows, expected, 1)
        return seen

    def _read_back(self, expected: int) -> Checksum:
        """Return the checksum of every row of the target table, read back."""
        seen = Checksum()
        for count, rows in enumerate(read_batches(self.target, self.batch, None), 1):
            try:
                seen = seen.plus(self.convert.incoming(rows), len(rows))
            except BadValue as exc:
                raise unreadable(self.plan, self.target, rows[exc.index], exc) from None
            self._report("verify", seen.rows, expected, count)
        return seen

    def _save(self, job: Job) -> None:
        self.checkpoints.save(job)
        self.job = job

    def _report(self, phase: str, rows: int, total: int, batches: int) -> None:
        self.progress(Progress(phase, rows, total, self._elapsed(), batches))

    def _elapsed(self) -> float:
        return time.perf_counter() - self.started


def _quiet(progress: Progress) -> None:
    """Report nothing."""


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a batch makes many tuples and no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
