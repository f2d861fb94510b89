"""Batches in primary-key order (keyset pagination) and the conversions they go through.

A batch is read in its own short transaction: `WHERE key > last ORDER BY key LIMIT n`,
never OFFSET, so every batch costs the same and a resumed copy starts right after the
last key it recorded. Each batch is turned into columns, decoded into neutral values,
spelled for the checksum and encoded for the target, one column at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter

from components.datastore import Adapter
from components.datastore.schema import Kind

from .checksum import NULL, ROW_BYTES, Checksum, batch_text, canonical
from .convert import BadValue, non_null
from .decode import decoder
from .drivers import Driver, Failure, Row, driver_for
from .encode import checker, encoder, fused
from .plan import Plan
from .typeinfo import TypeInfo

Columns = list[list[object]]
Payload = Columns | bytes  # a batch for the target's driver: columns, or COPY text
# COPY's escapes and the checksum's separators: text holding one is not fused
FUSE_BREAKERS = ("\\", "\t", "\n", "\r", NULL, "\x1e", "\x1f")
TO_COPY = bytes.maketrans(b"\x1f\x1e", b"\t\n")
ROW_LEVEL = ("22", "23")  # SQLSTATE classes of errors caused by one row's values


@dataclass(frozen=True, slots=True)
class Side:
    """One end of a copy: the adapter, its bulk driver, the table and its column types."""

    adapter: Adapter
    driver: Driver
    table: str
    columns: tuple[tuple[str, TypeInfo], ...]
    key: tuple[str, ...]
    key_index: tuple[int, ...]

    @classmethod
    def of(cls, adapter: Adapter, plan: Plan, *, target: bool) -> Side:
        """Return the source (or, with `target`, the target) side of a plan."""
        table = plan.target_table if target else plan.source_table
        columns = tuple((c.name, c.target if target else c.source) for c in plan.columns)
        return cls(adapter, driver_for(adapter), table, columns, plan.key, plan.key_index)

    def key_of(self, row: Row) -> tuple[object, ...]:
        return tuple(row[i] for i in self.key_index)


def read_batches(side: Side, size: int, after: tuple[object, ...] | None) -> Iterator[list[Row]]:
    """Yield the rows after `after` (all rows when None), `size` at a time, in key order."""
    driver = side.driver
    first = driver.select(side.table, side.columns, side.key, after=False)
    following = driver.select(side.table, side.columns, side.key, after=True)
    last = after
    while True:
        rows = _fetch_after(side, first, following, last, size)
        if not rows:
            return
        yield rows
        if len(rows) < size:
            return
        last = side.key_of(rows[-1])


def boundaries(
    side: Side, size: int, after: tuple[object, ...] | None
) -> Iterator[tuple[tuple[object, ...] | None, tuple[object, ...] | None]]:
    """Yield `(after, upto)` key ranges of `size` rows each (the last one open-ended).

    Only the keys are read (PostgreSQL and SQLite walk the primary key's index), so the
    batches themselves can be read and converted elsewhere, in any order.
    """
    driver = side.driver
    first = driver.boundary(side.table, side.columns, side.key, after=False)
    following = driver.boundary(side.table, side.columns, side.key, after=True)
    last = after
    while True:
        found = _fetch_after(side, first, following, last, size - 1)
        if not found:
            yield last, None
            return
        upto = tuple(found[0])
        yield last, upto
        last = upto


def _fetch_after(
    side: Side, first: str, following: str, last: tuple[object, ...] | None, n: int
) -> list[Row]:
    """Run a keyset query in its own read transaction: `first` from the start, else
    `following` after the key `last`; `n` is its LIMIT or OFFSET."""
    driver = side.driver
    with side.adapter.transaction() as tx:
        driver.begin_read(tx.connection)
        if last is None:
            return driver.fetch(tx.connection, first, [n])
        return driver.fetch(tx.connection, following, [*driver.after_params(last), n])


def read_range(
    side: Side, after: tuple[object, ...] | None, upto: tuple[object, ...] | None
) -> list[Row]:
    """Return the rows with keys after `after` and up to `upto` (None: no bound), in key order."""
    driver = side.driver
    bounded = (after is not None, upto is not None)
    sql = driver.select_range(side.table, side.columns, side.key, *bounded)
    params: list[object] = []
    if after is not None:
        params += driver.after_params(after)
    if upto is not None:
        params += driver.upto_params(upto)
    with side.adapter.transaction() as tx:
        driver.begin_read(tx.connection)
        return driver.fetch(tx.connection, sql, params)


def count_rows(side: Side) -> int:
    """Return the number of rows in the side's table."""
    with side.adapter.transaction() as tx:
        return int(side.driver.fetch(tx.connection, side.driver.count(side.table), ())[0][0])


class Converters:
    """The per-column functions of a plan: decode, spell for the checksum, encode."""

    def __init__(self, plan: Plan) -> None:
        self.decode_source = [decoder(c.source) for c in plan.columns]
        self.decode_target = [decoder(c.target) for c in plan.columns]
        self.spell = [canonical(c.source.kind) for c in plan.columns]
        self.encode = [encoder(c.source, c.target) for c in plan.columns]
        self.check = [checker(c.source, c.target) for c in plan.columns]
        self.fused = all(fused(c.source.kind, c.target) for c in plan.columns)
        self.texts = [i for i, c in enumerate(plan.columns) if c.source.kind is Kind.TEXT]

    def outgoing(self, rows: list[Row]) -> tuple[Columns, Columns]:
        """Return a source batch's columns ready for the target, and its canonical columns."""
        neutral = _apply(self.decode_source, _columns(rows, len(self.encode)))
        spelled = _apply(self.spell, neutral)
        return _apply(self.encode, neutral, spelled), spelled

    def prepared(self, rows: list[Row]) -> tuple[Payload, Checksum]:
        """Return a source batch ready for the target's driver, and the batch's checksum.

        Into PostgreSQL, when every column's COPY fields are its canonical spellings, the
        COPY text is the checksum's text with its separators translated (one encode and
        one `bytes.translate` for the batch instead of a text a row)."""
        neutral = _apply(self.decode_source, _columns(rows, len(self.encode)))
        spelled = _apply(self.spell, neutral)
        if self.fused and not self._breakers(neutral):
            _apply(self.check, neutral)
            text = batch_text(spelled)
            data = text.encode("utf-8", "surrogatepass")
            lines = data.split(ROW_BYTES)
            copy = data.replace(NULL.encode(), b"\\N").translate(TO_COPY) + b"\n"
            return copy, Checksum().plus_lines(lines, len(rows))
        out = _apply(self.encode, neutral, spelled)
        return out, Checksum().plus(spelled, len(rows))

    def _breakers(self, neutral: Columns) -> bool:
        """Tell whether a text column holds a character that COPY or the checksum treats
        specially (the batch then goes the general way)."""
        for index in self.texts:
            try:
                joined = "".join(neutral[index])  # type: ignore[arg-type]
            except TypeError:  # NULLs
                joined = "".join(non_null(neutral[index]))  # type: ignore[arg-type]
            if any(c in joined for c in FUSE_BREAKERS):
                return True
        return False

    def incoming(self, rows: list[Row]) -> Columns:
        """Return a target batch's canonical columns (for verification)."""
        return _apply(self.spell, _apply(self.decode_target, _columns(rows, len(self.spell))))


def _columns(rows: Sequence[Row], width: int) -> Columns:
    """Turn rows into columns (`itemgetter` passes run in C, twice as fast as zip(*rows))."""
    return [list(map(itemgetter(i), rows)) for i in range(width)]


def _apply(fns: Sequence[Callable[..., list[object]]], *columns: Columns) -> Columns:
    """Apply each column's function to that column (of each of `columns`)."""
    out: Columns = []
    for index, (fn, *args) in enumerate(zip(fns, *columns, strict=True)):
        try:
            out.append(fn(*args))
        except BadValue as exc:
            exc.column = index
            raise
    return out


def write_batch(side: Side, conn: object, columns: Payload) -> None:
    """Write a batch (columns, or COPY text) into the side's table; on failure, find the row
    and column."""
    driver = side.driver
    names = [name for name, _ in side.columns]
    if driver.savepoints:
        driver.run(conn, "SAVEPOINT mobo_bridge")
    try:
        driver.write(conn, side.table, names, columns)
    except Exception as exc:
        found = driver.failure(exc)
        if found is None or not found.code.startswith(ROW_LEVEL):
            raise
        if found.index is None:
            if not driver.savepoints:
                raise
            driver.run(conn, "ROLLBACK TO SAVEPOINT mobo_bridge")
            rows = list(zip(*columns, strict=True))
            index, single = _first_failing(driver, conn, side.table, names, rows, exc)
            found = (driver.failure(single) or found)._replace(index=index)
            found = found._replace(column=found.column or driver.failure(exc).column)  # type: ignore[union-attr]
        raise WriteFailed(found) from exc


def _first_failing(
    driver: Driver, conn: object, table: str, names: list[str], rows: list[Row], exc: Exception
) -> tuple[int, Exception]:
    """Insert the rows one at a time (the batch is rolled back anyway) until one fails."""
    for index, row in enumerate(rows):
        try:
            driver.write(conn, table, names, [[value] for value in row])
        except Exception as single:
            return index, single
    return 0, exc


class WriteFailed(Exception):
    """The target refused a row of a batch (`failure.index`), maybe naming the column."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure
