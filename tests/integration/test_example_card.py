"""The example card of docs/cards.md, loaded from $MOBO_CARD_PATH into a real board: its
route answers through the gateway, its request hook refuses and sees responses, and its
bus handler (hosted by the worker: the card has no process) runs on an emitted event."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from mobo.kernel.bus import Bus
from mobo.kernel.config import load_config
from mobo.kernel.keys import Keys
from mobo.kernel.redisconn import connect
from mobo.kernel.status import board_redis_url
from tests.integration.conftest import BoardHome, make_home, teardown, wait_for

pytestmark = pytest.mark.integration

CARDS = str(Path(__file__).resolve().parents[1] / "cards")
HOOK_HEADER = "X-Example-Hook"


def request(url: str) -> tuple[int, Message, bytes]:
    """GET `url`; headers are looked up case-insensitively (the server sends lowercase)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.fixture(scope="module")
def board() -> Iterator[BoardHome]:
    """A default board that finds the example card, booted with it unplugged."""
    board = make_home({"MOBO_CARD_PATH": CARDS})
    config = board.home / "mobo.toml"
    text = config.read_text().replace("unplugged = []", 'unplugged = ["example", "flaky"]')
    config.write_text(text)
    board.mobo("boot")
    yield board
    teardown(board)


def plug(board: BoardHome) -> None:
    """Plug the card, then restart its hosts: they load the plugged cards as they start."""
    board.mobo("plug", "example")
    board.mobo("component:restart", "gateway")
    board.mobo("component:restart", "worker")


def test_an_unplugged_card_contributes_nothing(board: BoardHome) -> None:
    status, headers, _ = request(board.url + "/example/v1/hello")
    assert status == 404
    assert headers.get(HOOK_HEADER) is None


def test_a_plugged_card_mounts_its_route_hook_and_handler(board: BoardHome) -> None:
    plug(board)
    status, headers, body = request(board.url + "/example/v1/hello")
    assert status == 200 and json.loads(body)["hello"] == "world"
    assert headers[HOOK_HEADER] == "seen"
    # the hook runs before routing: it refuses a path no route serves, and sees the refusal
    status, headers, _ = request(board.url + "/example/v1/private/anything")
    assert status == 403 and headers[HOOK_HEADER] == "seen"
    # and it sees every response, the gateway's own included
    status, headers, _ = request(board.url + "/health")
    assert status == 200 and headers[HOOK_HEADER] == "seen"

    config = load_config(board.home)
    bus = Bus(connect(board_redis_url(config)), Keys(config.namespace), "test")
    sent: list[str] = []

    def handled() -> dict | None:
        # emitted again each poll: an event published before the worker's subscription
        # took effect is lost, as pub/sub promises
        sent.append(bus.emit("data.change", {"table": "notes", "op": "INSERT"}).id)
        status, _, body = request(board.url + "/example/v1/seen")
        return json.loads(body) if status == 200 else None

    try:
        seen = wait_for(handled, timeout=20, interval=0.5)
    finally:
        bus.close()
    assert seen["id"] in sent
    assert seen == {"type": "data.change", "id": seen["id"], "table": "notes"}
