"""The capture thread survives Postgres and Redis going away, without losing a change."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from components.datastore import names as feed
from components.datastore.capture import PostgresCapture
from mobo.kernel.keys import Keys
from tests.conftest import free_port

from .conftest import stream_changes, wait_for, wait_until

TABLE = "CREATE TABLE notes (id serial PRIMARY KEY, body text)"


def test_a_dropped_postgres_connection_is_reopened_and_nothing_is_lost(
    sql: psycopg.Connection[Any],
    start_capture: Callable[..., PostgresCapture],
    redis_client: redis.Redis,
    keys: Keys,
) -> None:
    sql.execute(TABLE)
    capture = start_capture()
    sql.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'magflock:realtime:main'"
    )
    sql.execute("INSERT INTO notes (body) VALUES ('while reconnecting')")
    wait_for(redis_client, keys, lambda c: len(c) >= 1)
    wait_until(lambda: capture.ready, "the capture to be ready again")
    sql.execute("INSERT INTO notes (body) VALUES ('after')")
    changes = wait_for(redis_client, keys, lambda c: len(c) >= 2)
    assert [c["new"]["body"] for c in changes] == ["while reconnecting", "after"]


class PrivateRedis:
    """A redis-server of our own on a free port, to stop and start again."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.dir = tmp
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--dir", str(self.dir), "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        wait_until(lambda: _pings(client), "the private redis-server to answer")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_changes_made_while_redis_is_down_arrive_when_it_is_back(
    pg: dict[str, Any],
    sql: psycopg.Connection[Any],
    private_redis: PrivateRedis,
    keys: Keys,
) -> None:
    from components.datastore.capture.settings import CaptureSettings

    sql.execute(TABLE)
    client = redis.Redis(port=private_redis.port, socket_timeout=2, socket_connect_timeout=1)
    capture = PostgresCapture(
        "main", pg["dsn"], "public", client, feed.changes(keys), CaptureSettings()
    )
    capture.start()
    try:
        wait_until(lambda: capture.ready, "the capture to be ready")
        private_redis.stop()
        sql.execute("INSERT INTO notes (body) VALUES ('redis was down')")
        wait_until(lambda: not capture.ready, "the capture to notice Redis is gone")
        assert sql.execute("SELECT count(*) FROM mobo_realtime.outbox").fetchone() == (1,)
        private_redis.start()
        changes = wait_for(client, keys, lambda c: len(c) >= 1)
        assert [c["new"]["body"] for c in changes] == ["redis was down"]
        assert stream_changes(client, keys) == changes
    finally:
        capture.stop()
