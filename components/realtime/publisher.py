"""A small client of Pusher's HTTP API (connector mode, and MagWS's own POST check)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from mobo.exceptions import DatastoreUnavailable

from .credentials import App
from .signing import sign_request

TIMEOUT_S = 5.0


class PublishError(DatastoreUnavailable):
    """The external server refused or did not answer (the change stays pending)."""


class PusherClient:
    def __init__(self, base_url: str, app: App, timeout: float = TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.app = app
        self.timeout = timeout

    def trigger(self, channel: str, name: str, data: str) -> Any:
        body = json.dumps({"name": name, "channels": [channel], "data": data}).encode()
        return self.request("POST", f"/apps/{self.app.app_id}/events", body=body)

    def channels(self) -> Any:
        return self.request("GET", f"/apps/{self.app.app_id}/channels")

    def request(self, method: str, path: str, *, body: bytes = b"") -> Any:
        query = sign_request(self.app, method, path, {}, body)
        request = urllib.request.Request(  # noqa: S310 - http(s) only (settings check it)
            f"{self.base_url}{path}?{query}",
            data=body or None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")[:300]
            raise PublishError(f"{self.base_url} answered {exc.code}: {text}") from None
        except (OSError, ValueError) as exc:
            raise PublishError(f"{self.base_url} did not answer: {exc}") from None
