"""Schedules on a real board: the backup card's scheduler fires a seconds-level schedule,
prunes after each scheduled backup, and keeps its schedules across a restart of its
process and the loss of its Redis keys."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis

from components.backup import names
from components.backup.sets import list_sets
from mobo.kernel.config import load_config
from mobo.kernel.keys import Keys
from mobo.kernel.status import board_redis_url
from tests.integration.conftest import BoardHome, make_home, teardown, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def board() -> Iterator[BoardHome]:
    home = make_home()
    with (home.home / "mobo.toml").open("a") as fh:
        fh.write("\n[backup]\nkeep_last = 2\nkeep_daily = 0\nkeep_weekly = 0\n")
    try:
        home.mobo("boot", timeout=180)
        yield home
    finally:
        teardown(home)


def good_sets(board: BoardHome) -> list[str]:
    return [s.id for s in list_sets(load_config(board.home)) if s.good]


def runs(board: BoardHome, schedule_id: str) -> float:
    config = load_config(board.home)
    client = redis.Redis.from_url(board_redis_url(config))
    value = client.hget(names.schedule_runs(Keys(config.namespace)), schedule_id)
    return float(value) if value else 0.0


def test_a_seconds_schedule_fires_and_prunes(board: BoardHome) -> None:
    added = json.loads(board.mobo("backup:schedule", "@every 2s", "--json").stdout)
    # the policy keeps 2: once more than 2 scheduled backups finished, pruning shows
    wait_for(lambda: runs(board, added["id"]) and len(good_sets(board)) >= 2, timeout=120)
    first = set(good_sets(board))
    wait_for(lambda: not first <= set(good_sets(board)), timeout=120)  # newer sets replace
    board.mobo("backup:schedule", "--remove", added["id"])
    wait_for(lambda: len(good_sets(board)) == 2, timeout=120, interval=0.5)
    listed = json.loads(board.mobo("backup:schedule", "--list", "--json").stdout)
    assert listed == []


def test_schedules_survive_a_restart_and_lost_redis_keys(board: BoardHome) -> None:
    added = json.loads(board.mobo("backup:schedule", "*/3 * * * * *", "--json").stdout)
    wait_for(lambda: runs(board, added["id"]) > 0, timeout=60)
    board.mobo("component:restart", "backup", timeout=120)
    config = load_config(board.home)
    client = redis.Redis.from_url(board_redis_url(config))
    keys = Keys(config.namespace)
    before = runs(board, added["id"])
    client.delete(names.schedules(keys), names.schedule_runs(keys))  # as after a Redis restart
    wait_for(lambda: runs(board, added["id"]) > before, timeout=60)  # restored, and firing
    listed = json.loads(board.mobo("backup:schedule", "--list", "--json").stdout)
    assert [s["id"] for s in listed] == [added["id"]] and listed[0]["last_run"]
    board.mobo("backup:schedule", "--remove", added["id"])
