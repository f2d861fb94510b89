"""Password hashing (argon2id through argon2-cffi) and the password policy.

`verify` is constant-time in the hash (argon2 compares digests with a constant-time
compare), and `verify_dummy` burns the same work for an unknown email, so a sign-in's
timing does not tell whether an account exists.
"""

from __future__ import annotations

import string
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .settings import AuthSettings

# argon2-cffi's RFC 9106 "low memory" profile: argon2id, t=3, m=64 MiB, p=4.
HASHER = PasswordHasher()
MAX_PASSWORD_BYTES = 1024  # refuse megabyte passwords before hashing them
CLASSES = {
    "digits": string.digits,
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase,
    "symbols": string.punctuation,
}


def hash_password(password: str) -> str:
    """Return the argon2id hash (PHC string, with its own salt and parameters)."""
    return HASHER.hash(password)


def verify(encoded: str | None, password: str) -> bool:
    """Tell whether `password` matches `encoded`; a missing or corrupt hash never matches."""
    if not encoded:
        verify_dummy(password)
        return False
    try:
        return HASHER.verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def verify_dummy(password: str) -> None:
    """Spend as long as a real verification, for an email that has no account."""
    try:
        HASHER.verify(_dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        pass


@cache
def _dummy_hash() -> str:
    return HASHER.hash("magflock dummy password, never matches anything")


def needs_rehash(encoded: str) -> bool:
    """Tell whether a hash was made with weaker parameters than today's."""
    try:
        return HASHER.check_needs_rehash(encoded)
    except InvalidHashError:
        return True


def weak_reasons(password: str, settings: AuthSettings) -> list[str]:
    """Return GoTrue's reasons a password is refused: `length`, `characters` (empty: fine)."""
    reasons = []
    if len(password) < settings.password_min_length:
        reasons.append("length")
    required = settings.required_characters
    if required and not all(any(c in CLASSES[name] for c in password) for name in required):
        reasons.append("characters")
    return reasons


def weak_message(reasons: list[str], settings: AuthSettings) -> str:
    """Return the sentence that explains `reasons` to the user."""
    parts = []
    if "length" in reasons:
        parts.append(f"Password should be at least {settings.password_min_length} characters.")
    if "characters" in reasons:
        wanted = ", ".join(settings.required_characters)
        parts.append(f"Password should contain at least one character of each: {wanted}.")
    return " ".join(parts)
