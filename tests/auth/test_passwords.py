"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import time

from components.auth import passwords
from components.auth.settings import AuthSettings


def test_hash_is_argon2id_salted_and_verifies() -> None:
    first, second = (
        passwords.hash_password("correct horse"),
        passwords.hash_password("correct horse"),
    )
    assert first.startswith("$argon2id$") and first != second
    assert passwords.verify(first, "correct horse")
    assert not passwords.verify(first, "correct horsE")


def test_missing_or_corrupt_hash_never_matches() -> None:
    assert not passwords.verify(None, "anything")
    assert not passwords.verify("", "anything")
    assert not passwords.verify("$argon2id$garbage", "anything")
    assert passwords.needs_rehash("$argon2id$garbage")


def test_unknown_email_costs_as_much_as_a_wrong_password() -> None:
    encoded = passwords.hash_password("pw-12345678")
    passwords.verify_dummy("warm up")

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        for _ in range(3):
            fn()
        return time.perf_counter() - start

    real = timed(lambda: passwords.verify(encoded, "wrong-password"))
    dummy = timed(lambda: passwords.verify_dummy("wrong-password"))
    assert 0.5 < dummy / real < 2.0


def test_policy_reasons() -> None:
    plain = AuthSettings(password_min_length=10)
    assert passwords.weak_reasons("short", plain) == ["length"]
    assert passwords.weak_reasons("long enough!", plain) == []
    strict = AuthSettings(password_required_characters="digits,upper")
    assert passwords.weak_reasons("nodigitsorupper", strict) == ["characters"]
    assert passwords.weak_reasons("Has1digit", strict) == []
    assert "at least 10 characters" in passwords.weak_message(["length"], plain)
