"""Change capture's fixtures: a throwaway Postgres database, the stream, a poll helper."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from components.datastore import names as feed
from components.datastore.capture import PostgresCapture
from components.datastore.capture.settings import CaptureSettings
from mobo.kernel.keys import Keys
from tests.datastore.conftest import throwaway_database

WAIT_S = 10.0

Change = dict[str, Any]


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A fresh PostgreSQL database (its store settings), dropped afterwards."""
    with throwaway_database("postgres", tmp_path) as settings:
        yield settings


@pytest.fixture
def sql(pg: dict[str, Any]) -> Iterator[psycopg.Connection[Any]]:
    """A plain psycopg connection (autocommit), standing in for psql or another app."""
    with psycopg.connect(pg["dsn"], autocommit=True) as conn:
        yield conn


def stream_changes(client: redis.Redis, keys: Keys) -> list[Change]:
    """Every change on the board's stream, oldest first."""
    return [json.loads(fields[b"c"]) for _id, fields in client.xrange(feed.changes(keys))]


def wait_for(client: redis.Redis, keys: Keys, done: Callable[[list[Change]], bool]) -> list[Change]:
    """Poll the stream until `done(changes)`; fail with what arrived after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while True:
        changes = stream_changes(client, keys)
        if done(changes):
            return changes
        if time.monotonic() > deadline:
            pytest.fail(f"the stream did not get there in {WAIT_S}s; it holds {changes}")
        time.sleep(0.05)


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def start_capture(
    pg: dict[str, Any], redis_client: redis.Redis, keys: Keys
) -> Iterator[Callable[..., PostgresCapture]]:
    """Start a capture thread for the throwaway database; stopped afterwards."""
    started: list[PostgresCapture] = []

    def start(settings: CaptureSettings | None = None, dsn: str | None = None) -> PostgresCapture:
        capture = PostgresCapture(
            "main",
            dsn or pg["dsn"],
            "public",
            redis_client,
            feed.changes(keys),
            settings or CaptureSettings(),
        )
        capture.start()
        started.append(capture)
        wait_until(lambda: capture.ready, f"the capture to be ready ({capture.last_error})")
        return capture

    yield start
    for capture in started:
        capture.stop()
