"""MagBackup's errors: one class, a message that says what went wrong and a hint."""

from __future__ import annotations

from mobo.exceptions import MoboError


class BackupError(MoboError):
    """A backup, verification or restore cannot proceed (the message says why)."""


class SignatureError(BackupError):
    """A set's manifest is unsigned, tampered with, or signed by another board."""


class EncryptionError(BackupError):
    """An encrypted set cannot be read: no key, or the wrong key, or a damaged file."""
