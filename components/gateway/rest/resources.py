"""The Falcon resources of `/rest/v1`: translate HTTP to a `Call` and a `Reply` back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon

from components.gateway.rest.api import RestApi
from components.gateway.rest.bodies import MAX_BODY_BYTES, read_body
from components.gateway.rest.call import Call, Reply, query_pairs

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class _Resource:
    """Every verb goes through `RestApi.serve`; the resource only moves bytes."""

    def __init__(
        self,
        api: RestApi,
        max_body: int = MAX_BODY_BYTES,
        identify: Callable[[falcon.Request], Any] | None = None,
    ) -> None:
        self._api = api
        self._max_body = max_body
        self._identify = identify  # the platform's, which knows the project keys by value

    def _serve(self, req: falcon.Request, resp: falcon.Response, target: list[str]) -> None:
        body = b""
        if req.method in BODY_METHODS:
            body = read_body(req.bounded_stream, req.content_length, self._max_body)
        # the platform's middleware may have verified the caller already (rate limits)
        known = req.context.get("principal")
        if known is None and self._identify is not None:
            known = self._identify(req)  # None: refused or absent, the API says which
        call = Call(req.method, target, query_pairs(req.query_string), req.headers, body, known)
        reply = self._api.serve(call)
        req.context.principal = reply.principal  # for the gateway's request events
        send(resp, reply)


class TableResource(_Resource):
    """`/rest/v1/{table}`."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, table: str) -> None:
        self._serve(req, resp, [table])

    on_head = on_post = on_put = on_patch = on_delete = on_options = on_get


class RpcResource(_Resource):
    """`/rest/v1/rpc/{function}`."""

    def on_post(self, req: falcon.Request, resp: falcon.Response, function: str) -> None:
        self._serve(req, resp, ["rpc", function])

    on_get = on_head = on_options = on_put = on_patch = on_delete = on_post


def send(resp: falcon.Response, reply: Reply) -> None:
    """Copy a Reply onto Falcon's response."""
    resp.status = falcon.code_to_http_status(reply.status)
    for name, value in reply.headers.items():
        resp.set_header(name, value)
    if reply.content_type is not None:
        resp.content_type = reply.content_type
    if reply.body is not None:
        resp.data = reply.body
