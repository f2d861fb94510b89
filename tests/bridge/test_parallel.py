"""Copies whose batches are read and converted by worker processes (parallel.py)."""

from __future__ import annotations

from typing import Any

import pytest

from components.bridge import copy_table
from components.bridge.checkpoint import Checkpoints
from components.bridge.checksum import Checksum
from components.bridge.plan import plan_copy
from components.bridge.stream import Converters, Side, read_batches
from components.datastore import Adapter, Cond, Order, Select, Update
from mobo.exceptions import BridgeError, UnrepresentableValue

from .conftest import table_name
from .test_copy import ROWS, Stop, make_source, read, stop_after
from .test_refusals import source_table


@pytest.mark.parametrize("dst", ["postgres", "mysql", "sqlite"])
def test_workers_copy_what_one_process_copies(stores: dict[str, Adapter], dst: str) -> None:
    source, target = stores["sqlite"], stores[dst]
    table = make_source(source)

    alone = copy_table(source, table, target, table_name("one"), batch=4, workers=1)
    shared = copy_table(source, table, target, table_name("two"), batch=4, workers=2)

    assert alone.rows == shared.rows == len(ROWS) and shared.verified
    assert alone.checksum == shared.checksum
    assert read(target, shared.target.split(".", 1)[1]) == read(source, table)


def test_an_interrupted_parallel_copy_resumes(stores: dict[str, Adapter]) -> None:
    source, target = stores["sqlite"], stores["postgres"]
    table, name = make_source(source), table_name("dst")

    with pytest.raises(Stop):
        copy_table(source, table, target, name, batch=3, workers=2, progress=stop_after(4))
    job = Checkpoints(target).get(f"{source.name}.{table} -> {name}")
    assert job is not None and job.state == "failed" and 12 <= job.rows < len(ROWS)
    assert len(read(target, name)) == job.rows

    result = copy_table(source, table, target, name, batch=3, workers=2)

    assert result.verified and result.resumed_from == job.rows
    assert read(target, name) == read(source, table)


def test_a_value_refused_in_a_worker_names_its_row(stores: dict[str, Adapter]) -> None:
    source, target = stores["sqlite"], stores["postgres"]
    rows = [(i, "x" * (9 if i == 14 else 3)) for i in range(1, 21)]
    table = source_table(source, "label VARCHAR(5)", rows)
    name = table_name("dst")

    with pytest.raises(UnrepresentableValue) as caught:
        copy_table(source, table, target, name, batch=3, workers=2)

    error = caught.value
    assert (error.key, error.column, error.code) == ({"id": 14}, "label", "22001")
    job = Checkpoints(target).get(f"{source.name}.{table} -> {name}")
    assert job is not None and (job.state, job.rows) == ("failed", 12)
    source.execute(Update(table, {"label": "ok"}, Cond("id", "eq", 14)))
    assert copy_table(source, table, target, name, batch=3, workers=2).rows == 20


def test_a_row_the_target_refuses_is_named_after_a_parallel_read(
    stores: dict[str, Adapter],
) -> None:
    source, target = stores["sqlite"], stores["postgres"]
    table = source_table(source, "n INTEGER", [(i, 500 if i == 11 else i) for i in range(1, 21)])
    name = table_name("dst")
    target.raw(f'CREATE TABLE "{name}" (id bigint PRIMARY KEY, n bigint CHECK (n < 100))', ())

    with pytest.raises(UnrepresentableValue) as caught:
        copy_table(source, table, target, name, batch=3, workers=2)

    assert (caught.value.key, caught.value.code) == ({"id": 11}, "23514")
    rows = target.execute(Select(name, order=[Order("id")])).rows
    assert [r["id"] for r in rows] == list(range(1, 10))


def test_batches_copy_the_same_with_and_without_fusing(stores: dict[str, Adapter]) -> None:
    """COPY text made from the checksum's text (fused) equals the text made field by field."""
    source, target = stores["sqlite"], stores["postgres"]
    rows: list[tuple[Any, ...]] = [(1, "plain", 5, None), (2, None, None, "2024-01-01 10:00:00")]
    table = source_table(source, "label TEXT, n INTEGER, at TIMESTAMP", rows)
    plan = plan_copy(source, table, target, table_name("dst"))
    convert = Converters(plan)
    batch = next(read_batches(Side.of(source, plan, target=False), 10, None))

    fused, checksum = convert.prepared(batch)
    columns, spelled = convert.outgoing(batch)

    assert isinstance(fused, bytes) and checksum == Checksum().plus(spelled, 2)
    lines = ["\t".join(row) for row in zip(*columns, strict=True)]  # type: ignore[arg-type]
    assert fused == ("\n".join(lines) + "\n").encode()
    tabbed = [(3, "a\tb", 1, None)]
    source.raw(f'INSERT INTO "{table}" VALUES (?, ?, ?, ?)', tabbed[0])
    batch = next(read_batches(Side.of(source, plan, target=False), 10, None))
    general, _ = convert.prepared(batch)
    assert isinstance(general, list)  # a tab in text: COPY escapes it, field by field


def test_workers_must_be_at_least_one(stores: dict[str, Adapter]) -> None:
    with pytest.raises(BridgeError, match="workers"):
        copy_table(stores["sqlite"], "t", stores["postgres"], "t", workers=0)


def test_a_job_checkpointed_by_an_earlier_checksum_must_restart(
    stores: dict[str, Adapter],
) -> None:
    source, target = stores["sqlite"], stores["postgres"]
    table, name = make_source(source), table_name("dst")
    with pytest.raises(Stop):
        copy_table(source, table, target, name, batch=5, workers=1, progress=stop_after(1))
    checkpoints = Checkpoints(target)
    job = checkpoints.get(f"{source.name}.{table} -> {name}")
    assert job is not None
    checkpoints.save(job.advanced(checksum="0123456789abcdef"))  # how earlier copies recorded it

    with pytest.raises(BridgeError, match="earlier MagBridge") as caught:
        copy_table(source, table, target, name, batch=5)
    assert "--restart" in (caught.value.hint or "")
    assert copy_table(source, table, target, name, resume=False).verified


def test_a_worker_that_cannot_open_the_source_stops_the_copy(
    stores: dict[str, Adapter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker whose initializer fails would be respawned forever: the copy fails instead."""
    from components.bridge import parallel

    def unreachable(name: str, settings: object) -> Adapter:
        raise OSError("connection refused")

    monkeypatch.setattr(parallel, "build_adapter", unreachable)  # inherited by the fork
    source, target = stores["sqlite"], stores["postgres"]
    table, name = make_source(source), table_name("dst")

    with pytest.raises(BridgeError, match="could not open the store lite: connection refused"):
        copy_table(source, table, target, name, batch=3, workers=2)
    assert copy_table(source, table, target, name, batch=3, workers=1).verified
