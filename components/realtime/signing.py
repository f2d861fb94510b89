"""Pusher's two HMAC-SHA256 signatures: channel authorization and HTTP API requests.

Channel auth (what `/realtime/v1/auth` returns and the server checks on subscribe):

    auth = "<key>:" + hex(hmac_sha256(secret, "<socket_id>:<channel>[:<channel_data>]"))

HTTP API requests carry `auth_key`, `auth_timestamp`, `auth_version=1.0`, `body_md5`
(when there is a body) and `auth_signature` in the query string, where the signature is
over "<METHOD>\\n<path>\\n<the other parameters, keys lowercased, sorted, k=v joined by &>".
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import urlencode

from .credentials import App

MAX_CLOCK_SKEW_S = 600  # Pusher refuses requests whose timestamp is further off


class SignatureError(Exception):
    """A request or a subscription is not signed by the app's secret."""


def hmac_hex(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def channel_auth(app: App, socket_id: str, channel: str, channel_data: str | None = None) -> str:
    """Return the `auth` value that lets `socket_id` subscribe to `channel`."""
    text = f"{socket_id}:{channel}" + (f":{channel_data}" if channel_data is not None else "")
    return f"{app.key}:{hmac_hex(app.secret, text)}"


def check_channel_auth(
    app: App, socket_id: str, channel: str, auth: object, channel_data: str | None
) -> None:
    """Raise SignatureError unless `auth` is this app's signature for the subscription."""
    if not isinstance(auth, str) or ":" not in auth:
        raise SignatureError("missing or malformed auth: expected '<key>:<signature>'")
    key, _, _ = auth.partition(":")
    if key != app.key:
        raise SignatureError("auth was signed for another app key")
    expected = channel_auth(app, socket_id, channel, channel_data)
    if not hmac.compare_digest(expected, auth):
        raise SignatureError("invalid signature for this socket_id and channel")


def string_to_sign(method: str, path: str, params: Mapping[str, str]) -> str:
    query = "&".join(
        f"{k.lower()}={v}" for k, v in sorted(params.items()) if k.lower() != "auth_signature"
    )
    return f"{method.upper()}\n{path}\n{query}"


def sign_request(
    app: App, method: str, path: str, params: Mapping[str, str], body: bytes = b""
) -> str:
    """Return the signed query string for a request to Pusher's HTTP API."""
    signed = {
        **params,
        "auth_key": app.key,
        "auth_timestamp": str(int(time.time())),
        "auth_version": "1.0",
    }
    if body:
        signed["body_md5"] = hashlib.md5(body).hexdigest()  # noqa: S324 - Pusher's spec
    signed["auth_signature"] = hmac_hex(app.secret, string_to_sign(method, path, signed))
    return urlencode(signed)


def verify_request(
    app: App, method: str, path: str, params: Mapping[str, str], body: bytes, now: float
) -> None:
    """Raise SignatureError naming what is wrong with a signed HTTP API request."""
    for name in ("auth_key", "auth_timestamp", "auth_signature"):
        if not params.get(name):
            raise SignatureError(f"missing {name} query parameter (sign the request)")
    if params["auth_key"] != app.key:
        raise SignatureError("unknown auth_key: not this app's key")
    if params.get("auth_version", "1.0") != "1.0":
        raise SignatureError("unsupported auth_version: use 1.0")
    try:
        stamp = int(params["auth_timestamp"])
    except ValueError:
        raise SignatureError("auth_timestamp is not a whole number of seconds") from None
    if abs(now - stamp) > MAX_CLOCK_SKEW_S:
        raise SignatureError(
            f"auth_timestamp is {int(now - stamp)} s off the server's clock "
            f"(at most {MAX_CLOCK_SKEW_S} s): check the client's clock"
        )
    if body:
        md5 = hashlib.md5(body).hexdigest()  # noqa: S324 - Pusher's spec
        if params.get("body_md5") != md5:
            raise SignatureError("body_md5 does not match the body")
    expected = hmac_hex(app.secret, string_to_sign(method, path, params))
    if not hmac.compare_digest(expected, params["auth_signature"]):
        raise SignatureError("invalid auth_signature: the request is not signed by this app")
