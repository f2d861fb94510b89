"""Pusher's HTTP API on MagWS: publish events and ask about channels, signed by the app.

    POST /apps/{app_id}/events           {name, data, channel | channels, socket_id?}
    POST /apps/{app_id}/batch_events     {batch: [{channel, name, data, socket_id?}]}
    GET  /apps/{app_id}/channels         ?filter_by_prefix=presence-&info=user_count
    GET  /apps/{app_id}/channels/{name}  ?info=user_count,subscription_count
    GET  /apps/{app_id}/channels/{name}/users
    GET  /                               "ok" (unsigned, for health checks)

Every /apps request must be signed (docs/realtime.md): a bad signature or a timestamp
more than 600 s off is 401 with a body saying which.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import protocol as p
from .credentials import App
from .httpd import HttpRequest, HttpResponse
from .hub import Hub
from .signing import SignatureError, verify_request

MAX_EVENT_CHANNELS = 100
MAX_BATCH = 10
MAX_DATA_BYTES = 10_240 * 10


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class PusherApi:
    """Route one HTTP request of Pusher's API to the Hub."""

    def __init__(self, app: App, hub: Hub) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return HttpResponse(200, self.route(request))
        except BadRequest as exc:
            return HttpResponse(exc.status, {"error": str(exc), "code": exc.status})

    def route(self, request: HttpRequest) -> Any:
        url = urlsplit(request.target)
        parts = [unquote(s) for s in url.path.strip("/").split("/")] if url.path != "/" else []
        if not parts or parts == ["ready"]:
            return {"ok": True}
        if len(parts) < 3 or parts[0] != "apps":
            raise BadRequest(404, f"no route {url.path}: see /apps/{{app_id}}/events")
        if parts[1] != self.app.app_id:
            raise BadRequest(404, f"app {parts[1]} not found on this server")
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            verify_request(self.app, request.method, url.path, params, request.body, time.time())
        except SignatureError as exc:
            raise BadRequest(401, f"unauthorized: {exc}") from None
        return self._dispatch(request.method, parts[2:], params, request.body)

    def _dispatch(self, method: str, rest: list[str], params: dict[str, str], body: bytes) -> Any:
        if method == "POST" and rest == ["events"]:
            return self.events(_json(body))
        if method == "POST" and rest == ["batch_events"]:
            return self.batch(_json(body))
        if method == "GET" and rest == ["channels"]:
            return self.channels(params)
        if method == "GET" and len(rest) == 2 and rest[0] == "channels":
            return self.channel(rest[1], params)
        if method == "GET" and len(rest) == 3 and rest[0] == "channels" and rest[2] == "users":
            return self.users(rest[1])
        raise BadRequest(404, f"no route {method} /{'/'.join(rest)}")

    def events(self, body: dict[str, Any]) -> dict[str, Any]:
        channels = body.get("channels")
        if channels is None and "channel" in body:
            channels = [body["channel"]]
        if not isinstance(channels, list) or not channels:
            raise BadRequest(400, "give `channels` (a list) or `channel`")
        if len(channels) > MAX_EVENT_CHANNELS:
            raise BadRequest(400, f"at most {MAX_EVENT_CHANNELS} channels per event")
        for channel in channels:
            self.publish(channel, body.get("name"), body.get("data"), body.get("socket_id"))
        return self._info(channels, body.get("info"))

    def batch(self, body: dict[str, Any]) -> dict[str, Any]:
        batch = body.get("batch")
        if not isinstance(batch, list) or not batch:
            raise BadRequest(400, "give `batch`: a list of {channel, name, data}")
        if len(batch) > MAX_BATCH:
            raise BadRequest(400, f"at most {MAX_BATCH} events per batch")
        for item in batch:
            if not isinstance(item, dict):
                raise BadRequest(400, "each batch item is an object {channel, name, data}")
            self.publish(
                item.get("channel"), item.get("name"), item.get("data"), item.get("socket_id")
            )
        infos = [self._info([item["channel"]], item.get("info")) for item in batch]
        if any(item.get("info") for item in batch):
            return {"batch": [next(iter(i.get("channels", {}).values()), {}) for i in infos]}
        return {}

    def publish(self, channel: Any, name: Any, data: Any, socket_id: Any = None) -> int:
        """Send one event to a channel's subscribers; return how many got it."""
        if not p.valid_channel(channel):
            raise BadRequest(400, f"invalid channel name {channel!r}")
        if not isinstance(name, str) or not name or len(name) > p.EVENT_NAME_MAX:
            raise BadRequest(400, "`name` (the event name) must be a string of 1-200 characters")
        text = data if isinstance(data, str) else json.dumps(data)
        if len(text.encode()) > MAX_DATA_BYTES:
            raise BadRequest(413, f"`data` is over {MAX_DATA_BYTES} bytes")
        exclude = socket_id if isinstance(socket_id, str) else None
        return self.hub.send(channel, p.encode(name, text, channel), exclude=exclude)

    def _info(self, channels: list[str], info: Any) -> dict[str, Any]:
        if not info:
            return {}
        wanted = str(info).split(",")
        return {"channels": {ch: self._attributes(ch, wanted) for ch in channels}}

    def channels(self, params: dict[str, str]) -> dict[str, Any]:
        prefix = params.get("filter_by_prefix", "")
        wanted = [w for w in params.get("info", "").split(",") if w]
        if "user_count" in wanted and not prefix.startswith(p.PRESENCE):
            raise BadRequest(400, "info=user_count needs filter_by_prefix=presence-")
        return {
            "channels": {
                ch.name: self._attributes(ch.name, wanted) for ch in self.hub.matching(prefix)
            }
        }

    def channel(self, name: str, params: dict[str, str]) -> dict[str, Any]:
        if not p.valid_channel(name):
            raise BadRequest(400, f"invalid channel name {name!r}")
        wanted = [w for w in params.get("info", "").split(",") if w]
        if "user_count" in wanted and p.kind(name) != "presence":
            raise BadRequest(400, "user_count is only for presence- channels")
        found = self.hub.channels.get(name)
        return {"occupied": found is not None, **self._attributes(name, wanted)}

    def users(self, name: str) -> dict[str, Any]:
        if p.kind(name) != "presence":
            raise BadRequest(400, "users are only listed for presence- channels")
        found = self.hub.channels.get(name)
        return {"users": [{"id": uid} for uid in (found.members if found else {})]}

    def _attributes(self, name: str, wanted: list[str]) -> dict[str, Any]:
        found = self.hub.channels.get(name)
        out: dict[str, Any] = {}
        if "subscription_count" in wanted:
            out["subscription_count"] = len(found.subs) if found else 0
        if "user_count" in wanted and p.kind(name) == "presence":
            out["user_count"] = len(found.members) if found else 0
        return out


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        raise BadRequest(400, "the body is not JSON") from None
    if not isinstance(parsed, dict):
        raise BadRequest(400, "the body must be a JSON object")
    return parsed
