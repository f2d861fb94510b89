"""One error body for the whole gateway: PostgREST's `{code, message, details, hint}`.

`install` maps errors to responses once, for every route, whichever card mounted it:

- a `falcon.HTTPError` (an `ApiError`, or any HTTPError carrying that `body`) as it is;
- `Unauthenticated` (mobo.principal: no or refused credentials): 401 with its code;
- MagDS's `AccessDenied`: 42501, 401 for an anonymous caller, else 403 (rest.errors);
- anything else: a logged 500 that shows no internals.
"""

from __future__ import annotations

import json
import logging

import falcon

from components.datastore.access import AccessDenied
from mobo.principal import Unauthenticated

LOGGER = logging.getLogger(__name__)


class ApiError(falcon.HTTPError):
    """An error with PostgREST's body; `code` is PostgREST's (PGRST…) or a SQLSTATE."""

    def __init__(
        self,
        status: str,
        code: str,
        message: str,
        *,
        details: str | None = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, title=message, headers=headers)
        self.body = {"code": code, "message": message, "details": details, "hint": hint}


def serialize(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Render any HTTPError as `{code, message, details, hint}` JSON."""
    body = getattr(exc, "body", None) or {
        "code": f"HTTP{exc.status_code}",
        "message": exc.title or exc.status,
        "details": exc.description,
        "hint": None,
    }
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps(body)


def unexpected(
    req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict[str, object]
) -> None:
    """Log an unexpected exception once and answer a JSON 500 without internals."""
    if isinstance(exc, falcon.HTTPError):
        raise exc
    LOGGER.exception("unhandled error on %s %s", req.method, req.path)
    raise ApiError(falcon.HTTP_500, "MOBO500", "internal error; see the gateway log")


def unauthenticated(
    req: falcon.Request, resp: falcon.Response, exc: Unauthenticated, params: dict[str, object]
) -> None:
    """Answer missing or refused credentials: 401 with PostgREST's code."""
    raise ApiError(
        falcon.HTTP_401,
        exc.code,
        exc.message,
        hint=exc.hint,
        headers={"WWW-Authenticate": "Bearer"},
    )


def refused(
    req: falcon.Request, resp: falcon.Response, exc: AccessDenied, params: dict[str, object]
) -> None:
    """Answer what MagDS's access policy refused, as the REST API does."""
    from components.gateway.rest.errors import from_datastore  # it imports this module

    raise from_datastore(exc, anonymous=exc.anonymous)


def install(app: falcon.App) -> None:
    """Map errors to responses once, for every route."""
    app.set_error_serializer(serialize)
    app.add_error_handler(Exception, unexpected)
    app.add_error_handler(Unauthenticated, unauthenticated)
    app.add_error_handler(AccessDenied, refused)
