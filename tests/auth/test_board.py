"""MagAuth on a real booted board: the gateway card (gunicorn) serves `/auth/v1`."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.integration.conftest import BoardHome, make_home, teardown

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def booted() -> Iterator[BoardHome]:
    board = make_home()
    try:
        board.mobo("boot", timeout=120)
        yield board
    finally:
        teardown(board)


def call(url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_sign_up_and_in_through_the_gateway_card(booted: BoardHome) -> None:
    keys = json.loads(booted.mobo("keys:list", "--json").stdout)
    anon = next(k["key"] for k in keys if k["name"] == "anon")
    headers = {"apikey": anon, "X-Supabase-Api-Version": "2024-01-01"}
    body = {"email": "board@example.com", "password": "pass-word-1"}
    status, session = call(booted.url + "/auth/v1/signup", body, headers)
    assert status == 200 and session["access_token"]
    status, again = call(booted.url + "/auth/v1/token?grant_type=password", body, headers)
    assert status == 200 and again["user"]["id"] == session["user"]["id"]
    created = booted.mobo("keys:create", "--role", "authenticated", "--name", "dev", "--json")
    key = json.loads(created.stdout)["key"]
    listed = json.loads(booted.mobo("keys:list", "--json").stdout)
    assert [k["name"] for k in listed] == ["anon", "service_role", "dev"]
    assert key not in json.dumps(listed)  # shown once, when made
    status, _ = call(booted.url + "/auth/v1/user", headers={"Authorization": f"Bearer {key}"})
    assert status == 403  # an API key is no user's access token
