"""End to end: the real `pusher-js` against a booted board's realtime card.

pusher-js authorizes `private-db.main.todos` through the gateway's `/realtime/v1/auth`
with a signed-in user's token, sees that user's insert made through the REST API, and
does not receive another user's row (ownership rule on SQLite and MariaDB, RLS on
PostgreSQL). The Python `pusher` library publishes through the card's HTTP API to the
same pusher-js client. Skipped only when node/npm cannot install the client.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pusher
import pytest

from tests.conftest import free_port
from tests.e2e.boards import ENGINES, RestBoard, rest_board
from tests.e2e.test_auth_supabase_js import HERE, NPM_TIMEOUT_S

pytestmark = pytest.mark.integration
WAIT_S = 60


def ensure_pusher_js() -> None:
    """Install pusher-js into tests/e2e/node_modules, or skip saying why."""
    if (HERE / "node_modules" / "pusher-js" / "package.json").exists():
        return
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run pusher-js (apt-get install nodejs npm)")
    proc = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(HERE)],
        capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        pytest.skip(f"npm install of pusher-js failed: {proc.stderr[-500:]}")


@pytest.fixture(scope="module", params=ENGINES)
def board(request: pytest.FixtureRequest) -> Iterator[tuple[RestBoard, dict[str, Any]]]:
    ensure_pusher_js()
    realtime = {"port": free_port(), "http_port": free_port(), "replay_grace": 0}
    with rest_board(request.param, extra={"realtime": realtime}) as found:
        status = json.loads(found.home.mobo("realtime:status", "--json", "--show-secret").stdout)
        yield found, status


def psql(rest: RestBoard, slug: str, user_id: str) -> None:
    """Insert a row with the psql client, outside MagFlock."""
    sql = "INSERT INTO todos (slug, title, user_id) VALUES (:'slug', 'from psql', :'uid')"
    subprocess.run(
        ["psql", rest.store["dsn"], "-v", "ON_ERROR_STOP=1", "-v", f"slug={slug}",
         "-v", f"uid={user_id}"],
        input=sql + ";\n", check=True, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


class Node:
    """realtime.mjs running, its JSON lines on a queue."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            ["node", str(HERE / "realtime.mjs"), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE,
        )  # fmt: skip
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.lines.put(json.loads(line))

    def wait(self, predicate: Any) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if predicate(line):
                return line
        stderr = self.proc.stderr.read() if self.proc.poll() is not None else ""  # type: ignore[union-attr]
        raise AssertionError(f"pusher-js never reported it; saw {self.seen}\n{stderr[-2000:]}")


def test_pusher_js_sees_own_rows_and_python_publishes(board: Any) -> None:
    rest, status = board
    stamp = uuid.uuid4().hex[:8]
    one = rest.session(f"rt1-{stamp}@example.com", "realtime-pass-1")
    two = rest.session(f"rt2-{stamp}@example.com", "realtime-pass-2")
    marker = f"marker-{stamp}"
    channel = "private-db.main.todos"
    node = Node([
        rest.url, rest.anon_key, one["access_token"], "127.0.0.1", str(status["port"]),
        status["key"], channel, marker,
    ])  # fmt: skip
    try:
        wanted = {channel, "news"}
        node.wait(
            lambda line: (
                "subscription_error" in line
                or wanted <= {seen.get("subscribed") for seen in node.seen}
            )
        )
        assert not [line for line in node.seen if "subscription_error" in line], node.seen

        api = pusher.Pusher(
            app_id=status["app_id"], key=status["key"], secret=status["secret"],
            host="127.0.0.1", port=status["http_port"], ssl=False,
        )  # fmt: skip
        api.trigger("news", "announced", {"hello": "from python"})
        got = node.wait(lambda line: line.get("event") == "announced")
        assert got["data"] == {"hello": "from python"}

        def insert(session: dict[str, Any], slug: str) -> None:
            body = {"slug": slug, "title": slug, "user_id": session["user"]["id"]}
            code, reply, _ = rest.call(
                "POST", "/rest/v1/todos", key=rest.anon_key, token=session["access_token"],
                body=body,
            )  # fmt: skip
            assert code == 201, reply

        insert(one, f"mine-{stamp}")
        insert(two, f"theirs-{stamp}")
        expected = [f"mine-{stamp}"]
        if rest.engine == "postgres":  # captured in the database: psql's rows arrive too
            psql(rest, f"psql-{stamp}", one["user"]["id"])
            psql(rest, f"psql-theirs-{stamp}", two["user"]["id"])
            expected.append(f"psql-{stamp}")
        insert(one, marker)
        node.wait(lambda line: line.get("done"))
        inserts = [line for line in node.seen if line.get("event") == "insert"]
        slugs = [line["data"]["new"]["slug"] for line in inserts]
        assert slugs == [*expected, marker]
        first = inserts[0]["data"]
        assert first["table"] == "todos" and first["store"] == "main" and first["op"] == "insert"
        assert first["new"]["user_id"] == one["user"]["id"] and first["commit_time"]

    finally:
        node.proc.kill()
