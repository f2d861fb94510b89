"""Batches verified on a PostgreSQL target in their own transactions (batchcheck.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from components.bridge import Progress, copy_table
from components.bridge.batchcheck import BatchCheck
from components.bridge.checkpoint import Checkpoints
from components.datastore import Adapter, Insert, Order, Select
from mobo.exceptions import VerificationFailed

from .conftest import table_name
from .test_copy import Stop, stop_after

SQLITE_DDL = (
    "CREATE TABLE {t} (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, label TEXT, "
    "amount NUMERIC(12,2), at TIMESTAMP)"
)
PG_DDL = (
    "CREATE TABLE {t} (id bigint PRIMARY KEY, n bigint NOT NULL, label text, "
    "amount numeric(12,2), at timestamp)"
)
ROWS = [
    {
        "id": i,
        "n": i * 7,
        "label": None if i % 5 == 0 else f"row {i} héllo 🐑",
        "amount": None if i % 7 == 0 else f"{i}.{i % 100:02d}",
        "at": None if i % 6 == 0 else f"2024-03-{i % 28 + 1:02d}T12:00:{i % 60:02d}.{i:06d}",
    }
    for i in range(1, 43)
]


def make(store: Adapter, ddl: str, rows: list[dict[str, Any]] = ROWS) -> str:
    name = table_name("bc")
    store.raw(ddl.format(t=store.dialect.quote_ident(name)), ())
    store.refresh_schema()
    if rows:
        store.execute(Insert(name, rows))
    return name


def read(store: Adapter, table: str) -> list[dict[str, Any]]:
    rows = store.execute(Select(table, order=[Order("id")])).rows
    for row in rows:
        if row["amount"] is not None:
            row["amount"] = Decimal(row["amount"])
    return rows


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[BatchCheck]:
    """The BatchChecks the copies of a test make."""
    made: list[BatchCheck] = []
    of = BatchCheck.of.__func__  # type: ignore[attr-defined]

    def spy(cls: type[BatchCheck], *args: Any) -> BatchCheck | None:
        check = of(cls, *args)
        if check is not None:
            made.append(check)
        return check

    monkeypatch.setattr(BatchCheck, "of", classmethod(spy))
    return made


@pytest.mark.parametrize("workers", [1, 2])
def test_each_batch_is_verified_by_its_text_and_a_resumed_copy_ends_verified(
    stores: dict[str, Adapter], checks: list[BatchCheck], workers: int
) -> None:
    source, target = stores["sqlite"], stores["postgres"]
    table, name = make(source, SQLITE_DDL), table_name("dst")
    with pytest.raises(Stop):
        copy_table(source, table, target, name, batch=5, workers=workers,
                   progress=stop_after(3))  # fmt: skip
    job = Checkpoints(target).get(f"{source.name}.{table} -> {name}")
    assert job is not None and job.checksum.startswith("md5v:")  # its batches were verified
    assert len(read(target, name)) == job.rows

    result = copy_table(source, table, target, name, batch=5, workers=workers)

    assert result.verified and result.resumed_from == job.rows and result.rows == len(ROWS)
    assert read(target, name) == read(source, table)
    assert checks[-1].by_text == 9 - job.rows // 5 and checks[-1].by_checksum == 0
    alone = copy_table(source, table, target, table_name("one"), batch=100)
    assert alone.checksum == result.checksum  # the same as one batch, verified the same way


def test_text_that_copy_escapes_is_verified_by_checksum(
    stores: dict[str, Adapter], checks: list[BatchCheck]
) -> None:
    source, target = stores["sqlite"], stores["postgres"]
    rows = [ROWS[0] | {"label": "tab\there\\ \x1e \x1f \x1d \x0b"}, *ROWS[1:6]]
    table = make(source, SQLITE_DDL, rows)

    result = copy_table(source, table, target, table_name("dst"), batch=3)

    assert result.verified and (checks[-1].by_checksum, checks[-1].by_text) == (1, 1)


def before_insert(target: Adapter, name: str, body: str) -> None:
    """Give PostgreSQL table `name` a BEFORE INSERT trigger running plpgsql `body`."""
    quoted, fn = (target.dialect.quote_ident(n) for n in (name, f"trg_{name}"))
    target.raw(
        f"CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"{body} RETURN NEW; END $$", ()
    )  # fmt: skip
    target.raw(
        f"CREATE TRIGGER changes BEFORE INSERT ON {quoted} FOR EACH ROW "
        f"EXECUTE FUNCTION {fn}()", ()
    )  # fmt: skip


def test_a_target_that_changes_a_value_fails_its_batch(
    stores: dict[str, Adapter], checks: list[BatchCheck]
) -> None:
    source, target = stores["sqlite"], stores["postgres"]
    table = make(source, SQLITE_DDL)
    name = make(target, PG_DDL, [])
    before_insert(target, name, "IF NEW.id = 12 THEN NEW.label := upper(NEW.label); END IF;")

    with pytest.raises(VerificationFailed, match=r"after id=10 up to id=15 does not match"):
        copy_table(source, table, target, name, batch=5, workers=1)

    job = Checkpoints(target).get(f"{source.name}.{table} -> {name}")
    assert job is not None and job.state == "failed" and job.rows == 10
    assert len(read(target, name)) == 10  # the batch was rolled back


def test_a_target_row_deleted_behind_the_checkpoint_fails_the_final_count(
    stores: dict[str, Adapter], checks: list[BatchCheck]
) -> None:
    source, target = stores["sqlite"], stores["postgres"]
    table, name = make(source, SQLITE_DDL), table_name("dst")

    def delete_behind(report: Progress) -> None:
        if report.phase == "copy" and report.batches == 2:
            target.raw(f"DELETE FROM {target.dialect.quote_ident(name)} WHERE id = 3", ())

    with pytest.raises(VerificationFailed, match="the target 41"):
        copy_table(source, table, target, name, batch=5, workers=1, progress=delete_behind)


def test_a_job_not_verified_batch_by_batch_is_verified_whole_at_the_end(
    stores: dict[str, Adapter], checks: list[BatchCheck]
) -> None:
    source, target = stores["sqlite"], stores["postgres"]
    table, name = make(source, SQLITE_DDL), table_name("dst")
    with pytest.raises(Stop):
        copy_table(source, table, target, name, batch=5, workers=1, progress=stop_after(2))
    checkpoints = Checkpoints(target)
    job = checkpoints.get(f"{source.name}.{table} -> {name}")
    assert job is not None
    unverified = "md5:" + job.checksum.removeprefix("md5v:")  # as a copy without checks
    checkpoints.save(job.advanced(checksum=unverified))
    quoted = target.dialect.quote_ident(name)
    target.raw(f"UPDATE {quoted} SET label = 'changed' WHERE id = 2", ())
    made = len(checks)

    with pytest.raises(VerificationFailed, match="does not match"):
        copy_table(source, table, target, name, batch=5, workers=1)
    assert len(checks) == made  # no batch checks: the whole table was checksummed
