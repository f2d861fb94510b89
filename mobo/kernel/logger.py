"""Structured logs: one JSON object per line, one file per card process.

Every supervised process calls `setup_logging(log_dir, card)` once; records from any
logger then land in `<log_dir>/<card>.log` as::

    {"time": "2026-11-25T18:00:00.123456Z", "level": "info", "card": "gateway",
     "pid": 42, "logger": "mobo.kernel.bus", "event": "connected to redis",
     "data": {...}, "exc": "Traceback ..."}

A redaction filter on every handler rewrites a record before it is formatted, so a
password, token or JWT passed to a log call never reaches a file. `read_logs` and
`follow_logs` back `mobo logs [CARD] [-n N] [-f]`.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import stat
import sys
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from mobo import defaults
from mobo.exceptions import ComponentNotFound, ConfigError

LOGGER = logging.getLogger(__name__)

LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
LOG_FILE_MODE = 0o640  # the umask may make it stricter, never looser
REDACTED = "[redacted]"
TAIL_BLOCK_BYTES = 64 * 1024

_CARD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SECRET_WORDS = ("password", "passwd", "secret", "token", "authorization", "cookie", "credential")
# matched against whole parts of a key (`api_key`, `apiKey`), so `keys` and `monkey` pass
_SECRET_PARTS = frozenset({"key", "apikey", "pwd", "pass"})
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/?#\s@]*:)[^@\s/]+@")


# --- redaction ---------------------------------------------------------------------------


def is_secret_key(name: str) -> bool:
    """Return True when a mapping key names something secret (password, api_key …)."""
    lowered = name.lower()
    if any(word in lowered for word in _SECRET_WORDS):
        return True
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    return any(part in _SECRET_PARTS for part in re.split(r"[^a-z0-9]+", snake))


def redact_text(text: str) -> str:
    """Replace JWTs, Bearer/Basic credentials and URL passwords in a string."""
    text = _JWT.sub(REDACTED, text)
    text = _AUTH_SCHEME.sub(rf"\1 {REDACTED}", text)
    return _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)


def redact(value: Any) -> Any:
    """Return a JSON-ready copy of `value` with secret keys and secret-looking strings hidden."""
    if isinstance(value, Mapping):
        return {str(k): REDACTED if is_secret_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))


class RedactingFilter(logging.Filter):
    """Rewrite a record so that no secret in it can reach a handler's output."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken log call: let the handler report it
            return True
        record.msg, record.args = redact_text(message), None
        data = getattr(record, "data", None)
        if data is not None:  # `extra={"data": ...}` sets it in the record's __dict__
            vars(record)["data"] = redact(data)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


# --- writing -----------------------------------------------------------------------------


def _rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line."""

    def __init__(self, card: str) -> None:
        super().__init__()
        self._card = card

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _rfc3339(record.created),
            "level": record.levelname.lower(),
            "card": self._card,
            "pid": record.process,
            "logger": record.name,
            "event": record.getMessage(),
        }
        data = getattr(record, "data", None)
        if data is not None:
            entry["data"] = data if isinstance(data, dict) else {"value": data}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class CardFileHandler(RotatingFileHandler):
    """A rotating file handler whose files are created 0640 (or stricter)."""

    def _open(self) -> io.TextIOWrapper:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        fd = os.open(self.baseFilename, flags, LOG_FILE_MODE)
        try:  # an older file may have been created looser than we want
            os.fchmod(fd, stat.S_IMODE(os.fstat(fd).st_mode) & LOG_FILE_MODE)
            return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)
        except BaseException:
            os.close(fd)
            raise


class CardStreamHandler(logging.StreamHandler[TextIO]):
    """The optional stderr copy of a card's log (same JSON)."""


def level_number(level: str) -> int:
    """Return the numeric level for a name; raise ConfigError for an unknown one."""
    number = LEVELS.get(str(level).strip().lower())
    if number is None:
        allowed = ", ".join(LEVELS)
        raise ConfigError(
            f"log level {level!r} is not valid; use one of: {allowed}",
            hint="set [log] level in mobo.toml or MOBO_LOG_LEVEL",
        )
    return number


def log_path(log_dir: Path, card: str) -> Path:
    """Return the log file of a card; refuse names that could leave the log dir."""
    if not _CARD_NAME.match(card):
        raise ComponentNotFound(
            f"no card named {card!r}: card names are letters, digits, '_', '.' and '-'"
        )
    return Path(log_dir) / f"{card}.log"


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=defaults.PRIVATE_DIR_MODE)
    os.chmod(path, defaults.PRIVATE_DIR_MODE)


def _handlers(path: Path, max_bytes: int, backups: int, stream: bool) -> list[logging.Handler]:
    if max_bytes < 0 or backups < 0:
        raise ConfigError(
            f"log rotation needs max_bytes >= 0 and backups >= 0, got {max_bytes} and {backups}"
        )
    try:
        _private_dir(path.parent)
        handlers: list[logging.Handler] = [
            CardFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        ]
    except OSError as exc:
        raise ConfigError(
            f"cannot write logs to {path}: {exc}", hint="check [log] dir and its permissions"
        ) from exc
    if stream:
        handlers.append(CardStreamHandler(sys.stderr))
    return handlers


def setup_logging(
    log_dir: Path,
    card: str,
    *,
    level: str = defaults.LOG_LEVEL,
    max_bytes: int = defaults.LOG_MAX_BYTES,
    backups: int = defaults.LOG_BACKUPS,
    stream: bool = False,
) -> None:
    """Send every record of this process to `<log_dir>/<card>.log` as JSON lines."""
    number = level_number(level)
    handlers = _handlers(log_path(log_dir, card), max_bytes, backups, stream)
    shutdown_logging()  # idempotent: replace our handlers, never add a second set
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(JsonFormatter(card))
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(number)


def set_level(level: str) -> None:
    """Change the level of this process's logs (config hot reload)."""
    logging.getLogger().setLevel(level_number(level))


def shutdown_logging() -> None:
    """Remove and close the handlers `setup_logging` installed."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, CardFileHandler | CardStreamHandler):
            root.removeHandler(handler)
            handler.close()


# --- reading -----------------------------------------------------------------------------


def _parse_line(raw: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError:  # a torn or foreign line: skip it, never fail the reader
        return None
    return record if isinstance(record, dict) else None


def _time_of(record: dict[str, Any]) -> str:
    return str(record.get("time", ""))


def _tail_file(path: Path, count: int) -> list[dict[str, Any]]:
    """Return the last `count` records of one file, reading it from the end."""
    try:
        handle = path.open("rb")
    except OSError:
        return []
    with handle:
        pos = handle.seek(0, os.SEEK_END)
        buf = b""
        while True:
            lines = buf.split(b"\n")
            complete = lines if pos == 0 else lines[1:]  # lines[0] may be cut by the block
            records = [r for r in map(_parse_line, complete) if r is not None]
            if len(records) >= count or pos == 0:
                return records[-count:]
            step = min(max(TAIL_BLOCK_BYTES, len(buf)), pos)
            pos -= step
            handle.seek(pos)
            buf = handle.read(step) + buf


def _card_files(log_dir: Path, card: str) -> list[Path]:
    """Return a card's log file then its backups, newest first."""
    base = log_path(log_dir, card)
    backups = [p for p in base.parent.glob(f"{base.name}.*") if p.suffix[1:].isdigit()]
    return [base, *sorted(backups, key=lambda p: int(p.suffix[1:]))]


def _card_tail(log_dir: Path, card: str, count: int) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in _card_files(log_dir, card):
        if len(records) >= count:
            break
        records = _tail_file(path, count - len(records)) + records
    return records


def _cards(log_dir: Path) -> list[str]:
    return sorted(p.name[: -len(".log")] for p in Path(log_dir).glob("*.log") if p.is_file())


def read_logs(log_dir: Path, card: str | None, lines: int) -> list[dict[str, Any]]:
    """Return the last `lines` records of one card, or of all cards merged by time."""
    if lines <= 0:
        return []
    cards = [card] if card is not None else _cards(log_dir)
    merged = [record for name in cards for record in _card_tail(log_dir, name, lines)]
    merged.sort(key=_time_of)  # stable: a card's own order survives equal timestamps
    return merged[-lines:]


class _Tail:
    """One followed file; reopens it when it is replaced (rotated) or truncated."""

    __slots__ = ("handle", "ident", "partial", "path")

    def __init__(self, path: Path, *, at_end: bool) -> None:
        self.path = path
        self.handle: BinaryIO | None = None
        self.ident: tuple[int, int] | None = None
        self.partial = b""
        self._open(at_end=at_end)

    def _open(self, *, at_end: bool) -> None:
        try:
            handle = self.path.open("rb")
        except OSError:
            return
        info = os.fstat(handle.fileno())
        self.handle, self.ident, self.partial = handle, (info.st_dev, info.st_ino), b""
        if at_end:
            handle.seek(0, os.SEEK_END)

    def _drain(self) -> list[dict[str, Any]]:
        assert self.handle is not None
        chunk = self.handle.read()
        if not chunk:
            return []
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()  # an unfinished line waits for its newline
        return [r for r in map(_parse_line, lines) if r is not None]

    def read(self) -> list[dict[str, Any]]:
        """Return the records written since the last read."""
        if self.handle is None:
            self._open(at_end=False)
            if self.handle is None:
                return []
        records = self._drain()
        try:
            info = os.stat(self.path)
        except OSError:  # mid-rotation: the new file is not there yet
            return records
        if (info.st_dev, info.st_ino) != self.ident:
            records += self._drain()  # the rest of the rotated file, then the new one
            self.close()
            self._open(at_end=False)
            return records + (self._drain() if self.handle else [])
        if info.st_size < self.handle.tell():
            self.handle.seek(0)
            self.partial = b""
            records += self._drain()
        return records

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def _discover(log_dir: Path, card: str | None, tails: dict[Path, _Tail], at_end: bool) -> None:
    paths = (
        [log_path(log_dir, card)]
        if card is not None
        else [log_path(log_dir, c) for c in _cards(log_dir)]
    )
    for path in paths:
        if path not in tails:
            tails[path] = _Tail(path, at_end=at_end)


def follow_logs(
    log_dir: Path,
    card: str | None = None,
    *,
    stop: threading.Event | None = None,
    poll: float = 0.2,
) -> Iterator[dict[str, Any]]:
    """Yield records as they are written, from now on, until `stop` is set.

    Files that appear later (a card that starts) are read from their beginning. A file
    rotated twice between two polls loses the middle file, as `tail -F` does.
    """
    stop = stop or threading.Event()
    tails: dict[Path, _Tail] = {}
    _discover(log_dir, card, tails, at_end=True)
    try:
        while not stop.is_set():
            batch = sorted((r for tail in tails.values() for r in tail.read()), key=_time_of)
            yield from batch
            if not batch:
                stop.wait(poll)
            _discover(log_dir, card, tails, at_end=False)
    finally:
        for tail in tails.values():
            tail.close()
