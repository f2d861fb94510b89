"""The board's signing keys: the HS256 secret, or an RS256/ES256 key pair.

HS256 (the default) signs with `jwt_secret` from the secrets file. RS256 and ES256 sign
with `jwt_private_key` (PEM, PKCS#8) from the secrets file and publish the public half
as a JWK set at `/auth/v1/.well-known/jwks.json`. A key of the wrong type for the
algorithm is a ConfigError at load, never a silently weaker check.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt

from mobo.exceptions import ConfigError
from mobo.kernel.config import Config

from .settings import AuthSettings

ASYMMETRIC = ("RS256", "ES256")
RSA_BITS = 2048
KEY_LIFETIME_S = 10 * 365 * 24 * 3600  # Supabase-style project keys: long-lived, revocable
# by rotating the JWT secret


def generate_secrets(config: Config) -> dict[str, str]:
    """The card's `secrets` hook: the JWT secret (the board's, if it has one) and the anon
    and service_role project keys signed by it."""
    jwt_secret = config.secrets.jwt_secret or secrets.token_urlsafe(48)
    now = int(time.time())
    keys = {
        role: jwt.encode(
            {
                "iss": "magflock",
                "ref": config.board.id,
                "role": role,
                "iat": now,
                "exp": now + KEY_LIFETIME_S,
            },
            jwt_secret,
            algorithm="HS256",
        )
        for role in ("anon", "service_role")
    }
    return {
        "jwt_secret": jwt_secret,
        "anon_key": keys["anon"],
        "service_role_key": keys["service_role"],
    }


@dataclass(frozen=True, slots=True)
class Keyring:
    """What signs and what verifies, for one algorithm."""

    algorithm: str
    signing_key: Any = field(repr=False)
    verifying_key: Any = field(repr=False)
    kid: str = ""

    def public_jwks(self) -> list[dict[str, Any]]:
        """Return the verifying key as JWKs (none for HS256)."""
        if self.algorithm not in ASYMMETRIC:
            return []
        algo = jwt.algorithms.get_default_algorithms()[self.algorithm]
        jwk = algo.to_jwk(self.verifying_key, as_dict=True)
        return [{**jwk, "alg": self.algorithm, "use": "sig", "kid": self.kid}]


def keyring_from_config(config: Config, settings: AuthSettings) -> Keyring:
    """Build the keyring for `settings.jwt_algorithm` from the board's secrets."""
    if settings.jwt_algorithm == "HS256":
        secret = config.secrets.jwt_secret
        if not secret:
            raise ConfigError(
                "the board has no jwt_secret",
                hint="run `mobo init` (or set MOBO_SECRETS_JWT_SECRET)",
            )
        return hs256(secret, kid=settings.jwt_kid)
    pem = getattr(config.secrets, "jwt_private_key", "") or ""
    if not pem:
        raise ConfigError(
            f"auth.jwt_algorithm = {settings.jwt_algorithm} needs jwt_private_key in the secrets",
            hint=f"run `mobo auth:signing-key --algorithm {settings.jwt_algorithm}`",
        )
    return asymmetric(settings.jwt_algorithm, pem, kid=settings.jwt_kid)


def hs256(secret: str, *, kid: str = "") -> Keyring:
    """Return a keyring signing and verifying with one shared secret."""
    return Keyring("HS256", secret, secret, kid)


def asymmetric(algorithm: str, private_pem: str, *, kid: str = "") -> Keyring:
    """Return a keyring for a PEM private key; the key type must match the algorithm."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    try:
        private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"jwt_private_key is not a PEM private key: {exc}") from None
    wanted = rsa.RSAPrivateKey if algorithm == "RS256" else ec.EllipticCurvePrivateKey
    if not isinstance(private, wanted):
        raise ConfigError(f"jwt_private_key is not a key for {algorithm}")
    public = private.public_key()
    return Keyring(algorithm, private, public, kid or _thumbprint(public))


def _thumbprint(public: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


def generate_private_key(algorithm: str) -> str:
    """Return a new PEM (PKCS#8) private key for RS256 or ES256."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if algorithm == "RS256":
        key: Any = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    elif algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ConfigError(f"no key pair for {algorithm}", hint="use RS256 or ES256")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
