"""NVRAM: atomic writes, corrupt files moved aside, updates from two processes."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from mobo import defaults
from mobo.kernel.state import STATE_VERSION, StateStore


@pytest.fixture
def path(home: Path) -> Path:
    return home / ".mobo" / defaults.STATE_FILE


@pytest.fixture
def store(path: Path) -> StateStore:
    return StateStore(path)


def leftovers(path: Path) -> list[str]:
    """Files in the state dir other than the state file and its lock."""
    return sorted(
        p.name for p in path.parent.iterdir() if p.name not in {path.name, f"{path.name}.lock"}
    )


def test_missing_file_loads_as_empty(store: StateStore, path: Path) -> None:
    assert store.load() == {}
    assert not path.exists()


def test_round_trip_stores_a_version(store: StateStore, path: Path) -> None:
    state = {"system": {"state": "ready"}, "cards": {"gateway": {"pid": 42}}}
    store.save(state)

    assert store.load() == state
    assert json.loads(path.read_text())["version"] == STATE_VERSION
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert leftovers(path) == []


def test_card_and_system_helpers(store: StateStore) -> None:
    store.set_card("gateway", state="running", pid=42)
    assert store.set_card("gateway", pid=43) == {"state": "running", "pid": 43}
    store.set_card("worker", state="stopped")
    store.set_system(state="ready", ready_ms=812)

    assert store.card("gateway") == {"state": "running", "pid": 43}
    assert store.card("nobody") == {}
    assert store.system() == {"state": "ready", "ready_ms": 812}
    assert set(store.load()["cards"]) == {"gateway", "worker"}


def test_update_merges_top_level_keys(store: StateStore) -> None:
    store.save({"a": 1, "b": 2})
    assert store.update(b=3, c=4) == {"a": 1, "b": 3, "c": 4}
    assert store.load() == {"a": 1, "b": 3, "c": 4}


def test_a_crash_during_the_write_leaves_the_old_state_and_no_temp_file(
    store: StateStore, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save({"generation": 1})
    old = path.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("power lost")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power lost"):
        store.save({"generation": 2})
    with pytest.raises(OSError, match="power lost"):
        store.update(generation=3)
    monkeypatch.undo()

    assert path.read_bytes() == old
    assert store.load() == {"generation": 1}
    assert leftovers(path) == []


def test_a_failing_transaction_writes_nothing(store: StateStore) -> None:
    store.save({"n": 1})
    with pytest.raises(RuntimeError), store.transaction() as state:
        state["n"] = 2
        raise RuntimeError("changed my mind")
    assert store.load() == {"n": 1}


@pytest.mark.parametrize(
    "content",
    [
        b'{"system": {"state": "ready"}, "cards": {"gatew',  # truncated mid-write
        b"",  # empty after a crash
        b"not json at all",
        b"[1, 2, 3]",  # JSON, but not an object
        b"\xff\xfe\x00garbage",  # not even UTF-8
    ],
)
def test_a_corrupt_file_is_moved_aside_and_loads_as_empty(
    store: StateStore, path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)

    with caplog.at_level(logging.WARNING, logger="mobo.kernel.state"):
        assert store.load() == {}

    assert not path.exists()
    [aside] = leftovers(path)
    assert aside.startswith(f"{path.name}.corrupt-")
    assert (path.parent / aside).read_bytes() == content
    [message] = [r.getMessage() for r in caplog.records]
    assert str(path) in message
    assert str(path.parent / aside) in message


def test_a_corrupt_file_never_stops_the_next_write(store: StateStore, path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text('{"cards": ')

    assert store.set_card("gateway", state="running") == {"state": "running"}
    assert store.load() == {"cards": {"gateway": {"state": "running"}}}
    assert len(leftovers(path)) == 1


def test_an_unreadable_state_file_loads_as_empty(store: StateStore, path: Path) -> None:
    path.mkdir(parents=True)  # a directory where the file should be: read fails

    assert store.load() == {}
    assert len(leftovers(path)) == 1


def _hammer(path: str, worker: str, rounds: int) -> None:
    store = StateStore(Path(path))
    for i in range(rounds):
        store.update(**{f"{worker}.{i}": i})
        with store.transaction() as state:
            state["counter"] = state.get("counter", 0) + 1
        store.set_card(worker, done=i + 1)


def test_concurrent_updates_from_two_processes_lose_nothing(store: StateStore, path: Path) -> None:
    rounds = 50
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(str(path), w, rounds)) for w in ("a", "b")]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0

    state = store.load()
    for worker in ("a", "b"):
        assert all(state[f"{worker}.{i}"] == i for i in range(rounds))
        assert store.card(worker) == {"done": rounds}
    assert state["counter"] == 2 * rounds
    assert leftovers(path) == []
