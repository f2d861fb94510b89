"""A set's `manifest.json`: what it holds, and the HMAC that proves which board wrote it.

The signature is HMAC-SHA256 (hex) over the canonical JSON of the manifest without its
`signature` key: keys sorted, no spaces, ASCII only (`canonical()`), keyed with the
board's `backup_secret`. Verification results are not part of the manifest (they are in
`verify.json` beside it), so verifying never changes what was signed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from .errors import BackupError, SignatureError

FORMAT_VERSION = 1
FILE = "manifest.json"


def canonical(body: dict[str, Any]) -> bytes:
    """Return the bytes that are signed: sorted keys, compact, ASCII."""
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sign(body: dict[str, Any], secret: str) -> dict[str, Any]:
    """Return the manifest with its `signature`."""
    mac = hmac.new(secret.encode(), canonical(body), hashlib.sha256).hexdigest()
    return {**body, "signature": mac}


def signature_ok(body: dict[str, Any], secret: str) -> bool:
    """Tell whether the manifest's signature was made with `secret` over this body."""
    given = body.get("signature")
    if not isinstance(given, str) or not secret:
        return False
    expected = hmac.new(secret.encode(), canonical(body), hashlib.sha256).hexdigest()
    return hmac.compare_digest(given, expected)


def check_signature(body: dict[str, Any], secret: str, *, foreign: bool = False) -> None:
    """Raise SignatureError unless the manifest is signed with `secret`."""
    if "signature" not in body:
        raise SignatureError(
            f"backup set {body.get('id', '?')} has no signature: it was not written by MagBackup",
            hint="restore only sets this board (or, with --trust-foreign, a board whose "
            "backup_secret you have) signed",
        )
    if signature_ok(body, secret):
        return
    if foreign:
        raise SignatureError(
            f"backup set {body.get('id', '?')}: the signature does not match the secret given "
            "with --secret",
            hint="pass the backup_secret of the board that made the set (its "
            ".mobo/secrets.toml); a tampered set can never be restored",
        )
    raise SignatureError(
        f"backup set {body.get('id', '?')}: the signature does not verify with this board's "
        "backup_secret (the set was changed, or another board made it)",
        hint="a set from another board: restore with --trust-foreign --secret OLD_SECRET "
        "(that board's backup_secret); a tampered set can never be restored",
    )


def write(path: Path, body: dict[str, Any]) -> None:
    """Write manifest.json and fsync it."""
    from .files import write_bytes

    write_bytes(path / FILE, json.dumps(body, indent=2, sort_keys=True).encode() + b"\n")


def read(path: Path) -> dict[str, Any]:
    """Read a set's manifest; BackupError when it is missing or not JSON."""
    file = path / FILE
    try:
        body = json.loads(file.read_text())
    except FileNotFoundError:
        raise BackupError(
            f"{path} holds no {FILE}: not a backup set (or an unfinished one)"
        ) from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{file} cannot be read: {exc}", hint="the set is damaged") from None
    if not isinstance(body, dict) or body.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{file} is not a MagBackup manifest of format {FORMAT_VERSION}",
            hint="a set from a newer MagFlock needs that version to restore",
        )
    return body
