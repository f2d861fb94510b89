"""Falcon resources of `/auth/v1`: parse the request, call MagAuth, write the answer."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import falcon

from mobo import __version__

from . import errors
from .admin import DEFAULT_PER_PAGE, require_admin
from .runtime import MagAuth
from .service import RequestInfo
from .tokens import Claims, TokenError


def read_body(req: falcon.Request) -> dict[str, Any]:
    """Return the JSON object sent (empty body: {}); refuse anything else with 400."""
    raw = req.bounded_stream.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.bad_request("bad_json", "Could not parse request body as JSON") from None
    if not isinstance(body, dict):
        raise errors.bad_request("bad_json", "Request body must be a JSON object")
    return body


def request_info(req: falcon.Request) -> RequestInfo:
    return RequestInfo(
        base_url=req.prefix,
        user_agent=req.user_agent,
        ip=req.remote_addr,
        redirect_to=req.get_param("redirect_to"),
    )


def bearer_claims(auth: MagAuth, req: falcon.Request) -> Claims:
    """Verify the request's bearer token (401 without one, 403 bad_jwt if refused)."""
    header = req.get_header("Authorization") or ""
    if header[:7].lower() != "bearer " or not header[7:].strip():
        raise errors.unauthorized("no_authorization", "This endpoint requires a valid Bearer token")
    try:
        return auth.tokens.verify(header[7:].strip())
    except TokenError as exc:
        raise errors.forbidden("bad_jwt", str(exc)) from None


def _positive_int(text: str | None, default: int) -> int:
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise errors.validation_failed(f"expected a positive whole number, got {text!r}")
    return int(text)


class _Resource:
    def __init__(self, auth: MagAuth) -> None:
        self.auth = auth


class Signup(_Resource):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.auth.service.signup(read_body(req), request_info(req))


class Token(_Resource):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        grant = req.get_param("grant_type") or ""
        body = read_body(req)
        if grant == "password":
            resp.media = self.auth.service.password_grant(body, request_info(req))
        elif grant == "refresh_token":
            resp.media = self.auth.service.refresh_grant(body)
        else:
            raise errors.bad_request(
                "unsupported_grant_type", "unsupported_grant_type: use password or refresh_token"
            )


class User(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        service = self.auth.service
        resp.media = service.user_json(service.user_for(bearer_claims(self.auth, req)))

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        claims = bearer_claims(self.auth, req)
        resp.media = self.auth.service.update_user(claims, read_body(req), request_info(req))


class Logout(_Resource):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        claims = bearer_claims(self.auth, req)
        self.auth.service.logout(claims, req.get_param("scope") or "global")
        resp.status = falcon.HTTP_204


class Verify(_Resource):
    """POST answers a session; GET (the link in the mail) redirects with it in the fragment."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_body(req)
        token = str(body.get("token_hash") or body.get("token") or "")
        resp.media = self.auth.service.verify(str(body.get("type") or ""), token, request_info(req))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        type_, token = req.get_param("type") or "", req.get_param("token") or ""
        target = self._redirect_target(req.get_param("redirect_to"))
        try:
            session = self.auth.service.verify(type_, token, request_info(req))
        except errors.AuthError as exc:
            if not target:
                raise
            fragment = {
                "error": "access_denied",
                "error_code": exc.error_code,
                "error_description": exc.message,
            }
            raise falcon.HTTPSeeOther(f"{target}#{urlencode(fragment)}") from None
        if not target:
            resp.media = session
            return
        keys = ("access_token", "expires_at", "expires_in", "refresh_token", "token_type")
        fragment = {k: session[k] for k in keys} | {"type": type_}
        raise falcon.HTTPSeeOther(f"{target}#{urlencode(fragment)}")

    def _redirect_target(self, asked: str | None) -> str:
        site = self.auth.settings.site_url
        if asked and site and asked.startswith(site):
            return asked  # only below the site URL: never an open redirect
        return site


class Settings(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        s = self.auth.settings
        resp.media = {
            "external": {"email": True, "phone": False, "anonymous_users": False},
            "disable_signup": s.disable_signup,
            "mailer_autoconfirm": s.autoconfirm,
            "phone_autoconfirm": False,
            "sms_provider": "",
            "saml_enabled": False,
        }


class Health(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {
            "version": __version__,
            "name": "MagAuth",
            "description": "MagAuth is MagFlock's GoTrue-compatible auth API",
        }


class Jwks(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.auth.tokens.jwks()
        resp.cache_control = ["public", "max-age=600"]


class AdminUsers(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_admin(bearer_claims(self.auth, req))
        page = _positive_int(req.get_param("page"), 1)  # auth-js sends page= when unset
        per_page = _positive_int(req.get_param("per_page"), DEFAULT_PER_PAGE)
        users, total = self.auth.admin.list_users(page, per_page)
        resp.set_header("X-Total-Count", str(total))
        links = []
        last = max(1, -(-total // per_page))
        if page < last:
            links.append(f'</auth/v1/admin/users?page={page + 1}&per_page={per_page}>; rel="next"')
        links.append(f'</auth/v1/admin/users?page={last}&per_page={per_page}>; rel="last"')
        resp.set_header("Link", ", ".join(links))
        resp.media = {"users": users, "aud": self.auth.settings.jwt_aud}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_admin(bearer_claims(self.auth, req))
        resp.media = self.auth.admin.create_user(read_body(req))


class AdminUser(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        require_admin(bearer_claims(self.auth, req))
        resp.media = self.auth.admin.get_user(user_id)

    def on_put(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        require_admin(bearer_claims(self.auth, req))
        resp.media = self.auth.admin.update_user(user_id, read_body(req))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        require_admin(bearer_claims(self.auth, req))
        self.auth.admin.delete_user(user_id)
        resp.media = {}
