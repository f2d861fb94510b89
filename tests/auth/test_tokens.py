"""JWT verification: what is accepted, and every way a token is refused."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from components.auth import keys, tokens
from components.auth.settings import AuthSettings, parse_settings
from mobo.exceptions import ConfigError

SECRET = "s" * 48
SETTINGS = AuthSettings(project="board1")


def hs(settings: AuthSettings = SETTINGS) -> tokens.Tokens:
    return tokens.Tokens(settings, keys.hs256(SECRET))


def user_claims(**over: object) -> dict:
    now = int(time.time())
    claims = {
        "iss": "magflock",
        "sub": "6f1c7e0e-1111-4222-8333-444455556666",
        "aud": "authenticated",
        "role": "authenticated",
        "iat": now,
        "exp": now + 3600,
        "session_id": "s1",
        "ref": "board1",
    }
    return {**claims, **over}


def test_a_signed_user_token_verifies() -> None:
    claims = hs().verify(hs().sign(user_claims()))
    assert claims.role == "authenticated" and claims.session_id == "s1"
    assert claims.project == "board1" and claims.sub.startswith("6f1c")


def test_project_keys_need_no_audience() -> None:
    key = hs().project_key("anon", lifetime_s=60)
    assert hs().verify(key).role == "anon"
    # ...but a token with a subject does
    with pytest.raises(tokens.TokenAudienceInvalid):
        hs().verify(hs().sign({k: v for k, v in user_claims().items() if k != "aud"}))


def test_tampered_payload_is_refused() -> None:
    header, _, signature = hs().sign(user_claims()).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(user_claims(role="service_role")).encode())
    with pytest.raises(tokens.TokenSignatureInvalid):
        hs().verify(f"{header}.{forged.decode().rstrip('=')}.{signature}")


def test_other_secret_is_refused() -> None:
    token = jwt.encode(user_claims(), "another secret of enough length!", algorithm="HS256")
    with pytest.raises(tokens.TokenSignatureInvalid):
        hs().verify(token)


def test_expired_not_yet_valid_and_missing_exp_are_refused() -> None:
    with pytest.raises(tokens.TokenExpired) as exc:
        hs().verify(hs().sign(user_claims(exp=int(time.time()) - 1)))
    assert exc.value.code == "PGRST303"
    with pytest.raises(tokens.TokenNotYetValid):
        hs().verify(hs().sign(user_claims(nbf=int(time.time()) + 60)))
    no_exp = {k: v for k, v in user_claims().items() if k != "exp"}
    with pytest.raises(tokens.TokenMalformed):
        hs().verify(hs().sign(no_exp))


def test_wrong_audience_and_issuer_are_refused() -> None:
    with pytest.raises(tokens.TokenAudienceInvalid):
        hs().verify(hs().sign(user_claims(aud="someone-else")))
    with pytest.raises(tokens.TokenIssuerInvalid):
        hs().verify(hs().sign(user_claims(iss="https://evil.example")))


def test_alg_none_is_refused() -> None:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    for alg in ("none", "None", "NONE"):
        token = f"{part({'alg': alg, 'typ': 'JWT'})}.{part(user_claims())}."
        with pytest.raises(tokens.TokenAlgorithmRefused):
            hs().verify(token)


@pytest.mark.parametrize("junk", ["", "abc", "a.b", "a.b.c", "....", "eyJhbGciOi.x.y"])
def test_garbage_is_malformed(junk: str) -> None:
    with pytest.raises(tokens.TokenError) as exc:
        hs().verify(junk)
    assert exc.value.code == "PGRST301"


def rs_tokens() -> tokens.Tokens:
    pem = keys.generate_private_key("RS256")
    return tokens.Tokens(
        AuthSettings(project="board1", jwt_algorithm="RS256"), keys.asymmetric("RS256", pem)
    )


def test_rs256_signs_verifies_and_publishes_its_key() -> None:
    rs = rs_tokens()
    assert rs.verify(rs.sign(user_claims())).role == "authenticated"
    (jwk,) = rs.jwks()["keys"]
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and jwk["kid"]
    public = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))
    assert jwt.decode(
        rs.sign(user_claims()), public, algorithms=["RS256"], audience="authenticated"
    )
    assert hs().jwks() == {"keys": []}


def test_hs_rs_confusion_is_refused_both_ways() -> None:
    rs = rs_tokens()
    # an HS256 token "signed" with the board's public key, the classic confusion attack
    from cryptography.hazmat.primitives import serialization

    public_pem = rs.keyring.verifying_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT"}
    import hmac

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(user_claims()).encode())}"
    mac = hmac.new(public_pem, signing_input.encode(), "sha256").digest()
    with pytest.raises(tokens.TokenAlgorithmRefused):
        rs.verify(f"{signing_input}.{b64(mac)}")
    # and an HS256 board refuses RS256 tokens, whoever signed them
    with pytest.raises(tokens.TokenAlgorithmRefused):
        hs().verify(rs.sign(user_claims()))


def test_key_type_must_match_algorithm() -> None:
    with pytest.raises(ConfigError):
        keys.asymmetric("RS256", keys.generate_private_key("ES256"))
    with pytest.raises(ConfigError):
        keys.asymmetric("ES256", "not a pem")
    es = keys.asymmetric("ES256", keys.generate_private_key("ES256"))
    es_tokens = tokens.Tokens(AuthSettings(jwt_algorithm="ES256"), es)
    assert es_tokens.verify(es_tokens.sign(user_claims())).sub


def test_settings_are_validated() -> None:
    assert parse_settings({"autoconfirm": "false", "jwt_exp": "600"}).jwt_exp == 600
    for bad in (
        {"jwt_algorithm": "none"},
        {"nope": 1},
        {"password_min_length": 2},
        {"autoconfirm": "maybe"},
        {"password_required_characters": "emoji"},
    ):
        with pytest.raises(ConfigError):
            parse_settings(bad)
