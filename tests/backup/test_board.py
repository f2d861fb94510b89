"""On real boards: a backup job on the worker card while rows are written, then a restore
onto a freshly initialised home ("a new machine"): users sign in with their old passwords
through the gateway, the old anon, service_role and API keys work, every row is back."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import psycopg
import pytest

from tests.backup.conftest import Writer, seed
from tests.integration.conftest import BoardHome, make_home, teardown

pytestmark = pytest.mark.integration


def call(url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def keys_of(board: BoardHome) -> dict[str, str]:
    return {k["name"]: k["key"] for k in json.loads(board.mobo("keys:list", "--json").stdout)}


@pytest.fixture
def boards(store_of) -> Iterator[tuple[BoardHome, BoardHome, dict]]:
    pg = store_of("postgres")
    old, new = make_home(), make_home()
    try:
        with (old.home / "mobo.toml").open("a") as fh:
            fh.write(f'\n[datastores.pg]\nengine = "postgres"\ndsn = "{pg["dsn"]}"\n')
        yield old, new, pg
    finally:
        teardown(old)
        teardown(new)


def test_backup_on_the_worker_then_restore_onto_a_new_home(boards) -> None:
    old, new, pg = boards
    seed(pg, 30_000)
    old.mobo("boot", timeout=180)
    anon = keys_of(old)["anon"]
    headers = {"apikey": anon, "X-Supabase-Api-Version": "2024-01-01"}
    person = {"email": "old@example.com", "password": "old-pass-word-1"}
    status, session = call(old.url + "/auth/v1/signup", person, headers)
    assert status == 200, session
    api_key = json.loads(
        old.mobo("keys:create", "--role", "authenticated", "--name", "agent", "--json").stdout
    )["key"]
    forged = api_key[:-4] + ("aaaa" if not api_key.endswith("aaaa") else "bbbb")
    assert call(old.url + "/rest/v1/", headers={"apikey": api_key})[0] == 200
    assert call(old.url + "/rest/v1/", headers={"apikey": forged})[0] == 401

    writer = Writer(pg)
    writer.start()
    try:
        made = old.mobo("backup:create", "--label", "before the loss", "--json", timeout=300)
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.error is None and writer.written > 0
    result = json.loads(made.stdout)
    manifest = json.loads((old.home / "backups" / result["id"] / "manifest.json").read_text())
    assert manifest["label"] == "before the loss"
    rows_in_set = manifest["stores"]["pg"]["tables"]["public.items"]
    assert rows_in_set >= 30_000
    assert manifest["stores"]["main"]["tables"]["auth_users"] == 1
    listed = json.loads(old.mobo("backup:list", "--json").stdout)
    assert listed[0]["id"] == result["id"] and listed[0]["good"] is True
    verified = json.loads(old.mobo("backup:verify", result["id"], "--json", timeout=300).stdout)
    assert verified["ok"], verified["problems"]
    status_report = old.status()
    assert status_report["board"]["last_backup"]["id"] == result["id"]

    secret = dict(
        line.split(" = ", 1)
        for line in (old.home / ".mobo" / "secrets.toml").read_text().splitlines()
        if " = " in line
    )["backup_secret"].strip('"')
    old.mobo("shutdown", timeout=60)
    with psycopg.connect(pg["dsn"].rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{pg["dsn"].rsplit("/", 1)[1]}" WITH (FORCE)')  # lost

    restored = new.mobo(
        "backup:restore",
        "--from",
        str(old.home / "backups" / result["id"]),
        "--trust-foreign",
        "--secret",
        secret,
        "--yes",
        "--json",
        timeout=300,
    )
    report = json.loads(restored.stdout)
    assert report["stores"]["pg"]["public.items"] == rows_in_set and not report["mismatches"]
    assert "mobo.toml" in report["own_data"] and ".mobo/secrets.toml" in report["own_data"]
    new.port = old.port  # the new home is the old board now, its config included
    new.mobo("boot", timeout=180)
    status, again = call(new.url + "/auth/v1/token?grant_type=password", person, headers)
    assert status == 200, again
    assert again["user"]["id"] == session["user"]["id"]
    wrong = {**person, "password": "not-the-password"}
    assert call(new.url + "/auth/v1/token?grant_type=password", wrong, headers)[0] == 400
    assert call(new.url + "/v1/status", headers={"apikey": keys_of(new)["service_role"]})[0] == 200
    assert keys_of(new)["anon"] == anon
    assert call(new.url + "/rest/v1/", headers={"apikey": api_key})[0] == 200  # the old API key
    assert call(new.url + "/rest/v1/", headers={"apikey": forged})[0] == 401
    with psycopg.connect(pg["dsn"]) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == rows_in_set
