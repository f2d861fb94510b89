"""Sign-up with email confirmation, mailed through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.auth.conftest import app_client, make_board
from tests.conftest import free_port

SITE = "http://app.example"
PASSWORD = "pass-word-1"


class Inbox:
    """An aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def link(self, to: str) -> str:
        mail = next(m for m in reversed(self.messages) if m["To"] == to)
        return re.search(r"http\S+", mail.get_payload(decode=True).decode()).group(0)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    inbox, port = Inbox(), free_port()
    controller = controller_mod.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def client(home: Path, smtp: tuple[Inbox, int]):  # type: ignore[no-untyped-def]
    auth = {"autoconfirm": False, "smtp_host": "127.0.0.1", "smtp_port": smtp[1],
            "smtp_sender": "auth@board.example", "site_url": SITE}  # fmt: skip
    config = make_board(home, auth=auth)
    client, services = app_client(config)
    yield client
    services.provided["auth"].close()


H = {"X-Supabase-Api-Version": "2024-01-01"}


def test_confirm_by_the_mailed_link(client, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, _ = smtp
    resp = client.simulate_post(
        "/auth/v1/signup", json={"email": "cat@example.com", "password": PASSWORD}, headers=H
    )
    assert resp.status_code == 200
    user = resp.json
    assert "access_token" not in user and user["confirmation_sent_at"]
    assert "email_confirmed_at" not in user
    early = client.simulate_post(
        "/auth/v1/token?grant_type=password",
        json={"email": "cat@example.com", "password": PASSWORD},
        headers=H,
    )
    assert (early.status_code, early.json["code"]) == (400, "email_not_confirmed")
    link = urlsplit(inbox.link("cat@example.com"))
    assert link.path == "/auth/v1/verify" and inbox.messages[0]["From"] == "auth@board.example"
    resp = client.simulate_get(link.path, query_string=link.query)
    assert resp.status_code == 303
    target = urlsplit(resp.headers["Location"])
    assert f"{target.scheme}://{target.netloc}" == SITE
    fragment = parse_qs(target.fragment)
    assert fragment["type"] == ["signup"] and fragment["token_type"] == ["bearer"]
    me = client.simulate_get(
        "/auth/v1/user", headers={**H, "Authorization": f"Bearer {fragment['access_token'][0]}"}
    )
    assert me.json["email_confirmed_at"] and me.json["user_metadata"]["email_verified"] is True
    ok = client.simulate_post(
        "/auth/v1/token?grant_type=password",
        json={"email": "cat@example.com", "password": PASSWORD},
        headers=H,
    )
    assert ok.status_code == 200
    # the link works once
    again = client.simulate_post(
        "/auth/v1/verify",
        json={"type": "signup", "token": parse_qs(link.query)["token"][0]},
        headers=H,
    )
    assert (again.status_code, again.json["code"]) == (403, "otp_expired")


def test_signing_up_again_does_not_reveal_a_confirmed_account(client, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, _ = smtp
    first = client.simulate_post(
        "/auth/v1/signup", json={"email": "dog@example.com", "password": PASSWORD}, headers=H
    ).json
    resent = client.simulate_post(
        "/auth/v1/signup", json={"email": "dog@example.com", "password": PASSWORD}, headers=H
    )
    assert resent.status_code == 200 and resent.json["id"] == first["id"]  # unconfirmed: resent
    assert len(inbox.messages) == 2
    token = parse_qs(urlsplit(inbox.link("dog@example.com")).query)["token"][0]
    assert (
        client.simulate_post(
            "/auth/v1/verify", json={"type": "signup", "token_hash": token}, headers=H
        ).status_code
        == 200
    )
    fake = client.simulate_post(
        "/auth/v1/signup", json={"email": "dog@example.com", "password": PASSWORD}, headers=H
    )
    assert fake.status_code == 200 and fake.json["id"] != first["id"]
    assert set(fake.json) >= {"id", "email", "confirmation_sent_at", "identities"}
