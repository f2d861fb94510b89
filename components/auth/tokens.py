"""JWTs: issue access tokens and verify every token the board is shown.

The gateway calls `Tokens.verify(token)` on every request; MagAuth uses it for its own
endpoints. Verification accepts only the configured algorithm (so `alg: none` and
HS/RS confusion are refused before any signature is looked at), then checks the
signature, `exp` (required), `nbf`, `iss`, and `aud`: a token with a subject (a user's
access token) must carry the configured audience; the project keys `mobo init` makes
(`anon`, `service_role`) carry no `aud`, as Supabase's, and are accepted without one.

    TokenError                  401; `code` is PostgREST's, `error_code` GoTrue's
    ├── TokenMalformed          PGRST301 (not three base64 parts, bad JSON, no exp)
    ├── TokenAlgorithmRefused   PGRST301 (alg other than the configured one)
    ├── TokenSignatureInvalid   PGRST301
    └── TokenClaimsInvalid      PGRST303 (claims validation failed)
        ├── TokenExpired
        ├── TokenNotYetValid
        ├── TokenAudienceInvalid
        └── TokenIssuerInvalid
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from mobo.principal import Unauthenticated

from .keys import Keyring
from .settings import PROJECT_KEY_ISSUER, AuthSettings

LEEWAY_S = 0  # GoTrue allows no clock skew either


class TokenError(Unauthenticated):
    """A token was refused; the message says why, in words safe to show the caller."""

    code = "PGRST301"
    error_code = "bad_jwt"


class TokenMalformed(TokenError):
    """Not a JWT, or one without the claims every token must carry."""


class TokenAlgorithmRefused(TokenError):
    """The header names an algorithm other than the configured one."""


class TokenSignatureInvalid(TokenError):
    """The signature does not verify with the board's key."""


class TokenClaimsInvalid(TokenError):
    """The token verifies but its claims do not allow it to be used now, here."""

    code = "PGRST303"


class TokenExpired(TokenClaimsInvalid):
    """`exp` has passed."""


class TokenNotYetValid(TokenClaimsInvalid):
    """`nbf` or `iat` is in the future."""


class TokenAudienceInvalid(TokenClaimsInvalid):
    """`aud` is not the configured audience."""


class TokenIssuerInvalid(TokenClaimsInvalid):
    """`iss` is not this board's."""


@dataclass(frozen=True, slots=True)
class Claims:
    """The verified claims of a token; `data` is the whole payload."""

    data: Mapping[str, Any]

    @property
    def role(self) -> str:
        return str(self.data.get("role") or "anon")

    @property
    def sub(self) -> str | None:
        sub = self.data.get("sub")
        return str(sub) if sub else None

    @property
    def session_id(self) -> str | None:
        sid = self.data.get("session_id")
        return str(sid) if sid else None

    @property
    def project(self) -> str | None:
        ref = self.data.get("ref")
        return str(ref) if ref else None

    @property
    def expires_at(self) -> int:
        return int(self.data["exp"])


class Tokens:
    """Sign and verify the board's JWTs with one keyring and one algorithm."""

    def __init__(self, settings: AuthSettings, keyring: Keyring, clock: Any = time.time) -> None:
        self.settings = settings
        self.keyring = keyring
        self._clock = clock

    @property
    def algorithm(self) -> str:
        return self.keyring.algorithm

    def sign(self, claims: Mapping[str, Any]) -> str:
        """Sign `claims` with the board's key (adding `kid` to the header if configured)."""
        headers = {"kid": self.keyring.kid} if self.keyring.kid else None
        return jwt.encode(
            dict(claims), self.keyring.signing_key, algorithm=self.algorithm, headers=headers
        )

    def project_key(self, role: str, *, lifetime_s: int) -> str:
        """Mint a long-lived project key (`anon`, `service_role`) as `mobo init` does."""
        now = int(self._clock())
        claims = {"iss": PROJECT_KEY_ISSUER, "ref": self.settings.project, "role": role}
        return self.sign({**claims, "iat": now, "exp": now + lifetime_s})

    def verify(self, token: str) -> Claims:
        """Return the claims of a valid token; raise a TokenError saying what is wrong."""
        if not isinstance(token, str) or token.count(".") != 2:
            raise TokenMalformed("invalid JWT: expected three dot-separated parts")
        self._check_header(token)
        payload = self._decode(token)
        self._check_claims(payload)
        return Claims(payload)

    def _check_header(self, token: str) -> None:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise TokenMalformed(f"invalid JWT: {exc}") from None
        alg = header.get("alg")
        if alg != self.algorithm:
            raise TokenAlgorithmRefused(
                f"invalid JWT: algorithm {alg!r} is not allowed (this board signs with "
                f"{self.algorithm})"
            )

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                self.keyring.verifying_key,
                algorithms=[self.algorithm],
                options={"require": ["exp"], "verify_aud": False, "verify_iat": False},
                leeway=LEEWAY_S,
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired("JWT expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenNotYetValid("JWT not valid yet (nbf is in the future)") from None
        except jwt.InvalidSignatureError:
            raise TokenSignatureInvalid("invalid JWT: signature verification failed") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenMalformed(f"invalid JWT: {exc}") from None
        except jwt.InvalidTokenError as exc:
            raise TokenMalformed(f"invalid JWT: {exc}") from None

    def _check_claims(self, payload: Mapping[str, Any]) -> None:
        if payload.get("iss") not in (self.settings.jwt_issuer, PROJECT_KEY_ISSUER):
            raise TokenIssuerInvalid("invalid JWT: issuer not accepted")
        aud = payload.get("aud")
        if aud is None:
            if payload.get("sub") or payload.get("role") not in ("anon", "service_role"):
                raise TokenAudienceInvalid("invalid JWT: audience missing")
            return
        audiences = aud if isinstance(aud, list) else [aud]
        if self.settings.jwt_aud not in audiences:
            raise TokenAudienceInvalid("invalid JWT: audience not accepted")

    def jwks(self) -> dict[str, Any]:
        """Return the public keys as a JWK set (empty for HS256: its key is secret)."""
        return {"keys": self.keyring.public_jwks()}
