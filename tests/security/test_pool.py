"""A pooled connection never carries one request's role or claims into the next.

The board's PostgreSQL store has `pool_max = 1` and the gateway one worker (with its
threads), so every request runs on the same server connection. Two users, anon and the
service role interleave reads, writes, RPC calls and failing requests; each answer must
be computed as its own caller: `whoami()` returns `auth.uid()/current_user/backend pid`
(one backend pid for all: the requests really shared the connection), and each user's
reads return only their own rows.
"""

from __future__ import annotations

import itertools
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.e2e.boards import RestBoard

pytestmark = pytest.mark.integration
ROUNDS = 120
NAMES = ("alice", "anon", "bob", "service")
OPS = ("fail", "whoami", "rows")


@pytest.fixture(scope="module")
def callers(pg_single: RestBoard) -> dict[str, dict[str, Any]]:
    tag = uuid.uuid4().hex[:8]
    found: dict[str, dict[str, Any]] = {
        "anon": {"id": "", "token": pg_single.anon_key, "role": "anon"},
        "service": {"id": "", "token": pg_single.service_key, "role": "service_role"},
    }
    for name in ("alice", "bob"):
        session = pg_single.session(f"{name}-{tag}@example.com", "pool-pass-word")
        user = {
            "id": session["user"]["id"],
            "token": session["access_token"],
            "role": "authenticated",
        }
        for n in range(3):
            row = {"slug": f"{name}-{tag}-{n}", "title": name, "user_id": user["id"]}
            status, body, _ = pg_single.call(
                "POST", "/rest/v1/todos", key=pg_single.anon_key, token=user["token"], body=row
            )
            assert status == 201, body
        found[name] = user
    return found


def whoami(board: RestBoard, caller: dict[str, Any]) -> str:
    status, body, _ = board.call(
        "POST", "/rest/v1/rpc/whoami", key=board.anon_key, token=caller["token"], body={}
    )
    assert status == 200, body
    return body


def own_rows(board: RestBoard, caller: dict[str, Any]) -> set[str]:
    status, rows, _ = board.call(
        "GET", "/rest/v1/todos?select=user_id", key=board.anon_key, token=caller["token"]
    )
    assert status == 200, rows
    return {r["user_id"] for r in rows}


def failing(board: RestBoard, caller: dict[str, Any]) -> int:
    """A request that fails inside the transaction (a bad integer), as `caller`."""
    status, body, _ = board.call(
        "GET", "/rest/v1/todos?id=eq.not-a-number", key=board.anon_key, token=caller["token"]
    )
    assert 400 <= status < 500, body
    return status


def check(
    board: RestBoard, callers: dict[str, dict[str, Any]], name: str, op: str, backends: set[str]
) -> None:
    caller = callers[name]
    if op == "whoami":
        uid, role, backend = whoami(board, caller).split("/")
        assert (uid, role) == (caller["id"], caller["role"]), name
        backends.add(backend)
    elif op == "rows" and name in ("alice", "bob"):
        assert own_rows(board, caller) == {caller["id"]}, name
    elif op == "rows" and name == "anon":
        status, body, _ = board.call("GET", "/rest/v1/todos", key=board.anon_key)
        assert status == 401 and body["code"] == "42501", body  # anon has no grant on todos
    elif op == "fail":
        failing(board, caller)


def test_role_and_claims_do_not_leak_in_sequence(
    pg_single: RestBoard, callers: dict[str, dict[str, Any]]
) -> None:
    backends: set[str] = set()
    for name, op in itertools.product(NAMES, OPS):
        check(pg_single, callers, name, op, backends)
        check(pg_single, callers, "anon", "whoami", backends)  # right after another role's
    assert len(backends) == 1, f"served by several connections: {backends}"


def test_role_and_claims_do_not_leak_under_interleaving(
    pg_single: RestBoard, callers: dict[str, dict[str, Any]]
) -> None:
    rng = random.Random(7)
    plan = [(rng.choice(NAMES), rng.choice(OPS)) for _ in range(ROUNDS)]
    backends: set[str] = set()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(check, pg_single, callers, n, op, backends) for n, op in plan]:
            future.result()
    assert len(backends) == 1, f"served by several connections: {backends}"
