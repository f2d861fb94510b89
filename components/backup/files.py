"""Files of a set: written through sha256 (and encryption), fsynced; read back the same way.

A full disk is turned into one clear BackupError (`DiskFull`), naming the folder.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import crypto
from .errors import BackupError

READ_CHUNK = crypto.CHUNK
FILE_MODE = 0o600
DIR_MODE = 0o700


class DiskFull(BackupError):
    """No space left where the set is being written."""


@dataclass(frozen=True, slots=True)
class Written:
    file: str  # name inside the set
    size: int
    sha256: str

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "size": self.size, "sha256": self.sha256}


def write_stream(
    folder: Path,
    name: str,
    chunks: Iterator[bytes],
    *,
    key: str = "",
    progress: Callable[[int], None] | None = None,
) -> Written:
    """Write a file from plaintext chunks (sealed when `key`), hash what is stored, fsync."""
    stream = crypto.seal(chunks, key) if key else chunks
    digest, size = hashlib.sha256(), 0
    path = folder / name
    with disk_errors(folder):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            for block in stream:
                fh.write(block)
                digest.update(block)
                size += len(block)
                if progress is not None:
                    progress(size)
            fh.flush()
            os.fsync(fh.fileno())
    return Written(name, size, digest.hexdigest())


def write_bytes(path: Path, data: bytes) -> None:
    """Write a small file and fsync it."""
    with disk_errors(path.parent):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def chunks_of(path: Path, size: int = READ_CHUNK) -> Iterator[bytes]:
    """Yield a file's bytes in chunks."""
    with path.open("rb") as fh:
        while block := fh.read(size):
            yield block


def plain_chunks(path: Path, key: str) -> Iterator[bytes]:
    """Yield a stored file's plaintext: decrypted (each chunk checked) when it is sealed."""
    with path.open("rb") as fh:
        if crypto.is_sealed(fh):
            yield from crypto.unseal(fh, key, path.name)
            return
        while block := fh.read(READ_CHUNK):
            yield block


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    for block in chunks_of(path):
        digest.update(block)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class disk_errors:
    """Turn ENOSPC/EDQUOT into DiskFull naming the folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> bool:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(
                f"no space left on the device holding {self.folder}",
                hint="free space there, or point [backup] dir at a bigger disk; the "
                "unfinished set was removed",
            ) from None
        return False
