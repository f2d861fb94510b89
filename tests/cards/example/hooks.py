"""The card's request hook, added by the gateway: `middleware(config, services)`."""

from __future__ import annotations

from typing import Any

import falcon

from mobo.kernel.config import Config

PRIVATE = "/example/v1/private"
SEEN_HEADER = "X-Example-Hook"


def middleware(config: Config, services: Any) -> Hook:
    """Return the hook the gateway adds after its own middleware."""
    return Hook()


class Hook:
    """Refuses `/example/v1/private*` before routing; marks every response it sees."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.path.startswith(PRIVATE):
            raise falcon.HTTPForbidden(title="the example card refuses this path")

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        resp.set_header(SEEN_HEADER, "seen")
