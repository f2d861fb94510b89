"""Encryption at rest: AES-256-GCM in authenticated chunks, so files of any size stream.

A file is `MAGIC | salt(16) | nonce prefix(8)` then chunks, each `length(4) | ciphertext+tag`.
Chunk i is sealed with nonce `prefix | i` (96 bits) and the header plus `i` and a last-chunk
flag as associated data: a chunk moved, dropped, swapped between files or cut off at the
end fails to open. The key comes from `[backup] encryption_key` through scrypt with the
file's own salt (the cost is paid once per file, not per chunk).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .errors import EncryptionError

MAGIC = b"MOBOBAK1"
CHUNK = 1 << 20  # plaintext bytes per sealed chunk
SCRYPT_N = 1 << 14  # scrypt cost: ~16 MiB, tens of milliseconds


def derive(passphrase: str, salt: bytes) -> bytes:
    """Return the 256-bit key for one file."""
    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=8, p=1).derive(passphrase.encode())


def seal(chunks: Iterator[bytes], passphrase: str) -> Iterator[bytes]:
    """Yield the encrypted file for a stream of plaintext chunks (each at most CHUNK)."""
    salt, prefix = os.urandom(16), os.urandom(8)
    header = MAGIC + salt + prefix
    aead = AESGCM(derive(passphrase, salt))
    yield header
    index, pending = 0, next(chunks, None)
    while True:
        following = next(chunks, None) if pending is not None else None
        last = following is None
        body = aead.encrypt(_nonce(prefix, index), pending or b"", _aad(header, index, last))
        yield struct.pack(">I", len(body)) + body
        if last:
            return
        index, pending = index + 1, following


def is_sealed(fh: BinaryIO) -> bool:
    """Tell whether a file starts like an encrypted one (the position is restored)."""
    start = fh.tell()
    head = fh.read(len(MAGIC))
    fh.seek(start)
    return head == MAGIC


def unseal(fh: BinaryIO, passphrase: str, name: str) -> Iterator[bytes]:
    """Yield the plaintext of an encrypted file, checking every chunk and the end."""
    header = fh.read(len(MAGIC) + 24)
    if header[: len(MAGIC)] != MAGIC:
        raise EncryptionError(f"{name} is not an encrypted MagBackup file")
    if not passphrase:
        raise EncryptionError(
            f"{name} is encrypted and this board has no [backup] encryption_key",
            hint="set encryption_key in [backup] (or MOBO_BACKUP_ENCRYPTION_KEY) to the key "
            "the set was made with",
        )
    salt, prefix = header[len(MAGIC) : len(MAGIC) + 16], header[len(MAGIC) + 16 :]
    aead = AESGCM(derive(passphrase, salt))
    index = 0
    while True:
        size = fh.read(4)
        if len(size) < 4:
            raise EncryptionError(f"{name} is cut short (chunk {index} missing)")
        body = fh.read(struct.unpack(">I", size)[0])
        last = fh.peek(1)[:1] == b"" if hasattr(fh, "peek") else _at_end(fh)
        try:
            plain = aead.decrypt(_nonce(prefix, index), body, _aad(header, index, last))
        except InvalidTag:
            raise EncryptionError(
                f"{name} cannot be decrypted at chunk {index}: wrong encryption_key, or the "
                "file was changed",
                hint="use the [backup] encryption_key the set was made with",
            ) from None
        yield plain
        if last:
            return
        index += 1


def _at_end(fh: BinaryIO) -> bool:
    here = fh.tell()
    end = fh.read(1) == b""
    fh.seek(here)
    return end


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + struct.pack(">I?", index, last)
