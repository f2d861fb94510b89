"""The realtime card on a booted board: channel auth, durability across a restart, status,
and connector mode against a standalone MagWS standing in for Soketi."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from components.realtime.credentials import App
from tests.conftest import free_port
from tests.e2e.boards import RestBoard, rest_board
from tests.integration.conftest import make_home, teardown
from tests.realtime.conftest import Client, open_client, start_server, stop_server
from tests.tomlfile import merge_toml

pytestmark = pytest.mark.integration
GRACE_S = 8


@pytest.fixture(scope="module")
def board() -> Iterator[tuple[RestBoard, dict[str, Any]]]:
    realtime = {"port": free_port(), "http_port": free_port(), "replay_grace": GRACE_S}
    with rest_board("sqlite", extra={"realtime": realtime}) as found:
        status = json.loads(found.home.mobo("realtime:status", "--json").stdout)
        yield found, status


def authorize(
    rest: RestBoard, socket_id: str, channel: str, token: str | None, form: bool = True
) -> tuple[int, dict[str, Any]]:
    """POST /realtime/v1/auth as pusher-js does (form), or with a JSON body."""
    fields = {"socket_id": socket_id, "channel_name": channel}
    if form:
        sent = {"Content-Type": "application/x-www-form-urlencoded"}
        data = urllib.parse.urlencode(fields).encode()
    else:
        sent, data = {"Content-Type": "application/json"}, json.dumps(fields).encode()
    if token:
        sent |= {"apikey": rest.anon_key, "Authorization": f"Bearer {token}"}
    url = rest.url + "/realtime/v1/auth"
    request = urllib.request.Request(url, data=data, headers=sent, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_status_json_names_the_app_and_ports(board: Any) -> None:
    rest, status = board
    assert status["running"] and status["mode"] == "server" and status["enabled"]
    for key in ("app_id", "key", "host", "port", "http_port"):
        assert status[key]
    assert "secret" not in status
    shown = json.loads(rest.home.mobo("realtime:status", "--json", "--show-secret").stdout)
    assert len(shown["secret"]) >= 32
    assert "MagWS" in rest.home.mobo("realtime:status").stdout


def test_channel_auth_answers_per_caller_and_table(board: Any) -> None:
    rest, status = board
    user = rest.session(f"auth-{uuid.uuid4().hex[:8]}@example.com", "realtime-pass-9")
    token = user["access_token"]
    code, reply = authorize(rest, "1.2", "private-db.main.todos", None)
    assert code == 401 and reply["message"]
    code, reply = authorize(rest, "1.2", "private-db.main.todos", rest.anon_key)
    assert code == 403 and "anon" in reply["message"]
    code, reply = authorize(rest, "1.2", "private-db.main.todos", token)
    assert code == 200 and reply["auth"].startswith(status["key"] + ":")
    code, _ = authorize(rest, "1.2", "private-db.main.todos", token, form=False)
    assert code == 200
    code, reply = authorize(rest, "1.2", "private-db.main.secrets", token)
    assert code == 403
    code, reply = authorize(rest, "1.2", "private-db.main.nothing", token)
    assert code == 404
    code, reply = authorize(rest, "not-a-socket", "private-db.main.todos", token)
    assert code == 400 and "socket_id" in reply["message"]
    code, reply = authorize(rest, "1.2", "presence-room", token)
    assert code == 200
    member = json.loads(reply["channel_data"])
    assert (
        member["user_id"] == user["user"]["id"] and member["user_info"]["role"] == "authenticated"
    )
    code, reply = authorize(rest, "1.2", "presence-room", rest.anon_key)
    assert code == 403


def insert(rest: RestBoard, session: dict[str, Any], table: str, body: dict[str, Any]) -> None:
    code, reply, _ = rest.call(
        "POST", f"/rest/v1/{table}", key=rest.anon_key, token=session["access_token"], body=body
    )
    assert code == 201, reply


async def subscribed(rest: RestBoard, status: dict[str, Any], channel: str, token: str) -> Client:
    url = f"ws://127.0.0.1:{status['port']}/app/{status['key']}?protocol=7"
    client = await open_client(url)
    code, reply = await asyncio.to_thread(authorize, rest, client.socket_id, channel, token)
    assert code == 200, reply
    ok = await client.subscribe(channel, auth=reply["auth"])
    assert ok["event"] == "pusher_internal:subscription_succeeded", ok
    return client


def test_table_channel_refuses_a_signature_without_identity(board: Any) -> None:
    rest, status = board
    from components.realtime.signing import channel_auth

    async def scenario() -> None:
        url = f"ws://127.0.0.1:{status['port']}/app/{status['key']}?protocol=7"
        client = await open_client(url)
        secret = json.loads(rest.home.mobo("realtime:status", "--json", "--show-secret").stdout)
        app = App(status["app_id"], status["key"], secret["secret"])
        auth = channel_auth(app, client.socket_id, "private-db.main.lists")
        refused = await client.subscribe("private-db.main.lists", auth=auth)
        assert refused["event"] == "pusher:subscription_error"
        assert refused["data"]["code"] == 4009
        await client.ws.close()

    asyncio.run(scenario())


def test_changes_committed_while_the_card_is_down_are_delivered_after(board: Any) -> None:
    rest, status = board
    user = rest.session(f"down-{uuid.uuid4().hex[:8]}@example.com", "realtime-pass-7")
    stamp = uuid.uuid4().hex[:8]
    rest.home.mobo("component:stop", "realtime", timeout=60)
    insert(rest, user, "todos", {"slug": f"while-down-{stamp}", "title": "kept"})
    rest.home.mobo("component:start", "realtime", timeout=60)

    async def scenario() -> None:
        # within replay_grace of the restart: the backlog is delivered after it
        client = await subscribed(rest, status, "private-db.main.todos", user["access_token"])
        got = await client.until("insert", timeout=GRACE_S + 30)
        assert got["data"]["new"]["slug"] == f"while-down-{stamp}"
        assert got["data"]["new"]["user_id"] == user["user"]["id"]
        insert(rest, user, "todos", {"slug": f"after-{stamp}", "title": "live"})
        got = await client.until("insert", timeout=30)
        assert got["data"]["new"]["slug"] == f"after-{stamp}"
        await client.ws.close()

    asyncio.run(scenario())


def test_connector_mode_publishes_to_an_external_server() -> None:
    external = start_server(app=App("777", "soketi-key", "soketi-secret-" + uuid.uuid4().hex))
    realtime = {
        "external": f"http://127.0.0.1:{external.http_port}",
        "external_app_id": external.app.app_id,
        "external_key": external.app.key,
        "external_secret": external.app.secret,
        "replay_grace": 0,
    }
    try:
        with rest_board("sqlite", extra={"realtime": realtime}) as rest:
            status = json.loads(rest.home.mobo("realtime:status", "--json").stdout)
            assert status["mode"] == "connector" and status["key"] == "soketi-key"
            user = rest.session(f"conn-{uuid.uuid4().hex[:8]}@example.com", "realtime-pass-5")
            stamp = uuid.uuid4().hex[:8]

            async def scenario() -> None:
                client = await open_client(external.ws_url)
                for channel in ("private-db.main.lists", "private-db.main.todos"):
                    code, reply = await asyncio.to_thread(
                        authorize, rest, client.socket_id, channel, user["access_token"]
                    )
                    assert code == 200, reply
                    ok = await client.subscribe(channel, auth=reply["auth"])
                    assert ok["event"] == "pusher_internal:subscription_succeeded"
                insert(rest, user, "lists", {"name": f"list-{stamp}"})
                got = await client.until("insert", timeout=30)
                assert got["channel"] == "private-db.main.lists"
                assert got["data"]["new"]["name"] == f"list-{stamp}"
                insert(rest, user, "todos", {"slug": f"own-{stamp}", "title": "private"})
                got = await client.until("insert", timeout=30)
                assert got["channel"] == "private-db.main.todos"
                assert got["data"]["restricted"] is True and got["data"]["new"] is None
                assert got["data"]["pk"]
                await client.ws.close()

            asyncio.run(scenario())
    finally:
        stop_server(external)


def test_boot_post_fails_when_the_external_server_does_not_answer() -> None:
    home = make_home()
    try:
        external = {
            "external": f"http://127.0.0.1:{free_port()}",
            "external_app_id": "1",
            "external_key": "k",
            "external_secret": "s",
        }
        merge_toml(home.home / "mobo.toml", {"realtime": external})
        proc = home.mobo("boot", check=False, timeout=120)
        assert proc.returncode != 0
        assert "realtime external" in proc.stdout + proc.stderr
    finally:
        teardown(home)
