"""Shared fixtures: real Redis with a throwaway key prefix, a temp board home."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from mobo.kernel.keys import Keys

REDIS_URL = os.environ.get("MOBO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"tests need a Redis at {REDIS_URL}: run scripts/test, which starts one")
    yield client
    client.close()


@pytest.fixture
def keys(redis_client: redis.Redis) -> Iterator[Keys]:
    """A fresh board namespace; every key under it is deleted afterwards."""
    ns = Keys(prefix=f"mobotest:{uuid.uuid4().hex[:12]}")
    yield ns
    ns.forget(redis_client)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty board home."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def requires_cards(*names: str) -> pytest.MarkDecorator:
    """Skip a test of one card's interplay with others when those were deleted (the
    card-removal test runs the remaining cards' tests in a tree without them)."""
    root = Path(__file__).resolve().parents[1] / "components"
    missing = [name for name in names if not (root / name / "manifest.toml").exists()]
    return pytest.mark.skipif(bool(missing), reason=f"card(s) deleted: {', '.join(missing)}")
