"""GoTrue's error bodies, in the format the request asks for.

With `X-Supabase-Api-Version: 2024-01-01` (or later; auth-js always sends it) the body is
`{"code": "<error code>", "message": "..."}` and the response echoes the header; without
it, the legacy `{"code": <http status>, "error_code": "...", "msg": "..."}`. A weak
password adds `"weak_password": {"reasons": [...]}` in both.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import Any

import falcon

from mobo.exceptions import MoboError

LOGGER = logging.getLogger(__name__)

API_VERSION_HEADER = "X-Supabase-Api-Version"
API_VERSION_2024 = dt.date(2024, 1, 1)


class AuthError(MoboError):
    """An error MagAuth answers with; `error_code` is GoTrue's (`invalid_credentials`, …)."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


def bad_request(code: str, message: str) -> AuthError:
    return AuthError(400, code, message)


def validation_failed(message: str) -> AuthError:
    return AuthError(400, "validation_failed", message)


def unauthorized(code: str, message: str) -> AuthError:
    return AuthError(401, code, message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(code: str, message: str) -> AuthError:
    return AuthError(403, code, message)


def not_found(code: str, message: str) -> AuthError:
    return AuthError(404, code, message)


def unprocessable(code: str, message: str, **extra: Any) -> AuthError:
    return AuthError(422, code, message, extra=extra)


def api_version(header: str | None) -> dt.date | None:
    """Return the date of `X-Supabase-Api-Version`, or None if absent or not a date."""
    if not header:
        return None
    try:
        return dt.date.fromisoformat(header.strip())
    except ValueError:
        return None


def error_body(exc: AuthError, version: dt.date | None) -> dict[str, Any]:
    """Return the JSON body of `exc` for a request that sent API `version`."""
    if version is not None and version >= API_VERSION_2024:
        return {"code": exc.error_code, "message": exc.message, **exc.extra}
    return {"code": exc.status, "error_code": exc.error_code, "msg": exc.message, **exc.extra}


def echo_version(req: falcon.Request, resp: falcon.Response) -> dt.date | None:
    """Echo the API version the request asked for (as GoTrue does); return it."""
    version = api_version(req.get_header(API_VERSION_HEADER))
    if version is not None and version >= API_VERSION_2024:
        resp.set_header(API_VERSION_HEADER, API_VERSION_2024.isoformat())
    return version


def handle_auth_error(
    req: falcon.Request, resp: falcon.Response, exc: AuthError, params: Mapping[str, Any]
) -> None:
    """Falcon error handler: render an AuthError in the requested format."""
    version = echo_version(req, resp)
    resp.status = exc.status
    for name, value in exc.headers.items():
        resp.set_header(name, value)
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps(error_body(exc, version))
    if exc.status >= 500:
        LOGGER.error("auth %s %s: %s", req.method, req.path, exc.message)


def unexpected_failure() -> AuthError:
    return AuthError(
        500,
        "unexpected_failure",
        "Unexpected failure, please check server logs for more information",
    )
