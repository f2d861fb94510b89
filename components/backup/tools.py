"""The client programs a backup runs (pg_dump, pg_restore, mariadb-dump, mariadb), found
and checked, with errors that say how to install them."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from .errors import BackupError
from .settings import BackupSettings

VERSION = re.compile(rb"(\d+)(?:\.\d+|devel|beta|rc)")
STDERR_TAIL = 2000  # characters of a tool's stderr kept in an error
MAX_RESTORE_JOBS = 8  # pg_restore --jobs into scratch: one connection each


def find(configured: str, candidates: Sequence[str], *, key: str, install: str) -> str:
    """Return the path of a tool: the configured one, else the first candidate on PATH."""
    names = [configured] if configured else list(candidates)
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    shown = " or ".join(repr(n) for n in names)
    raise BackupError(
        f"{shown} not found (looked on PATH and for [backup] {key})",
        hint=f"{install}; or set [backup] {key} to the program's full path",
    )


def pg_tool(settings: BackupSettings, name: str, server_major: int) -> str:
    """Return pg_dump/pg_restore, checked to be at least the server's major version."""
    package = f"postgresql-client-{server_major}"
    path = find(
        getattr(settings, name),
        [name],
        key=name,
        install=f"install the PostgreSQL {server_major} client tools (Debian/Ubuntu: "
        f"`apt-get install {package}`)",
    )
    major = version_major(path)
    if major < server_major:
        raise BackupError(
            f"{path} is version {major}, older than the PostgreSQL {server_major} server: it "
            "cannot dump or restore it",
            hint=f"install {package} (Debian/Ubuntu) and set [backup] {name} = "
            f"'/usr/lib/postgresql/{server_major}/bin/{name}'",
        )
    return path


def restore_jobs() -> int:
    """Parallel jobs for a pg_restore into scratch: the cores this process may use (<= 8)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_RESTORE_JOBS))


def version_major(path: str) -> int:
    """The tool's major version (asked once per program file: path, size and mtime)."""
    stat = os.stat(path)
    return _version_major(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _version_major(path: str, _size: int, _mtime_ns: int) -> int:
    out = subprocess.run([path, "--version"], capture_output=True, timeout=30, check=False)
    match = VERSION.search(out.stdout)
    if out.returncode != 0 or match is None:
        raise BackupError(f"{path} --version failed: {out.stderr.decode(errors='replace')}")
    return int(match.group(1))


def mysql_tool(settings: BackupSettings, name: str) -> str:
    """Return mariadb-dump/mysqldump (name 'mysqldump') or mariadb/mysql (name 'mysql')."""
    candidates = ["mariadb-dump", "mysqldump"] if name == "mysqldump" else ["mariadb", "mysql"]
    return find(
        getattr(settings, name),
        candidates,
        key=name,
        install="install the MariaDB client (Debian/Ubuntu: `apt-get install mariadb-client`)",
    )


class Process:
    """A tool run with its stdout streamed and its stderr kept in a temp file."""

    def __init__(self, args: list[str], *, env: dict[str, str], stdin: int | None = None) -> None:
        self.args = args
        self._err: IO[bytes] = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            args, stdin=stdin, stdout=subprocess.PIPE, stderr=self._err, env=env
        )

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        assert self.proc.stdout is not None
        while block := self.proc.stdout.read(size):
            yield block

    def finish(self, what: str) -> None:
        """Wait for the tool; BackupError with its stderr when it failed."""
        code = self.proc.wait()
        self._err.seek(0)
        err = self._err.read().decode(errors="replace").strip()
        self._err.close()
        if code != 0:
            raise BackupError(
                f"{what} failed ({Path(self.args[0]).name} exited {code}): {err[-STDERR_TAIL:]}"
            )

    def stop(self) -> None:
        """Kill the tool (from any thread): its reader then sees the end of the output."""
        if self.proc.poll() is None:
            self.proc.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._err.close()


def run(
    args: list[str],
    *,
    env: dict[str, str],
    what: str,
    stdin: Iterator[bytes] | None = None,
) -> None:
    """Run a tool to the end (feeding `stdin` chunks); BackupError with its stderr on failure."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )
        try:
            if stdin is not None:
                assert proc.stdin is not None
                try:
                    for block in stdin:
                        proc.stdin.write(block)
                except BrokenPipeError:
                    pass  # the tool stopped early: its exit code and stderr say why
                finally:
                    try:
                        proc.stdin.close()
                    except BrokenPipeError:
                        pass
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if code != 0:
            err.seek(0)
            text = err.read().decode(errors="replace").strip()
            raise BackupError(
                f"{what} failed ({Path(args[0]).name} exited {code}): {text[-STDERR_TAIL:]}"
            )
