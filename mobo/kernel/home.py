"""`mobo init`: make a board's home — its config, its secrets, its supervisor top."""

from __future__ import annotations

import dataclasses
import fcntl
import os
import secrets
import socket
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mobo import defaults
from mobo.exceptions import ConfigError
from mobo.kernel import supervisor as sv
from mobo.kernel.config import Config, Secrets, load_config
from mobo.kernel.registry import Registry

REALTIME_PORT = 6001  # Soketi's default; the HTTP API takes the next port

CONFIG_TEMPLATE = """\
# MagFlock board configuration. Every key can be overridden from the environment as
# MOBO_<SECTION>_<KEY> (e.g. MOBO_GATEWAY_PORT=8080). Secrets live in .mobo/secrets.toml.

[board]
id = "{board_id}"
name = "MoBoMini"

[redis]
# Empty: use the Redis at 127.0.0.1:6379 if it answers, else run a private one on a unix
# socket in .mobo/run/. "private": always run that private one. A URL: require that Redis.
url = ""

[bus]
# Namespace of every Redis key and channel of this board (default "mobo:<board id>").
prefix = ""
history = {history}

[gateway]
host = "{host}"
port = {port}
workers = {workers}
threads = {threads}

[worker]
queues = ["default", "backup", "sentinel"]

[realtime]
# MagWS: Pusher protocol 7 at ws://host:port/app/<key>, Pusher's HTTP API on http_port.
# `external = "http://soketi:6001"` publishes to an existing Soketi instead (docs/realtime.md).
host = "{host}"
port = {rt_port}
http_port = {rt_http_port}

[log]
level = "info"   # debug, info, warning, error, critical; hot-reloaded

[cards]
# Cards listed here are not plugged in; `mobo plug NAME` / `mobo unplug NAME` edit this.
unplugged = []
"""


@dataclass(frozen=True, slots=True)
class InitResult:
    home: Path
    board_id: str
    config_path: Path
    secrets_path: Path


def init_home(home: Path, *, force: bool = False, port: int | None = None) -> InitResult:
    """Create mobo.toml, .mobo/secrets.toml (0600) and supervisord.conf in `home`."""
    home.mkdir(parents=True, exist_ok=True)
    config_path = home / defaults.CONFIG_FILE
    if config_path.exists() and not force:
        raise ConfigError(
            f"{config_path} already exists",
            hint="this folder is a board already; use --force to start over "
            "(its secrets will be replaced)",
        )
    board_id = secrets.token_hex(4)
    rt_port, rt_http_port = realtime_ports()
    config_path.write_text(
        CONFIG_TEMPLATE.format(
            board_id=board_id,
            history=defaults.BUS_HISTORY_MAXLEN,
            host=defaults.GATEWAY_HOST,
            port=port or defaults.GATEWAY_PORT,
            workers=defaults.GATEWAY_WORKERS,
            threads=defaults.GATEWAY_THREADS,
            rt_port=rt_port,
            rt_http_port=rt_http_port,
        )
    )
    config = load_config(home, environ={})
    sv.ensure_layout(config)
    # fresh secrets (--force replaces the old ones): the hooks must not see those on file
    fresh = dataclasses.replace(config, secrets=Secrets())
    write_secrets(config.secrets_path, card_secrets(fresh))
    return InitResult(home, board_id, config_path, config.secrets_path)


def realtime_ports() -> tuple[int, int]:
    """Soketi's ports (6001 and 6002 for the HTTP API) when free, else two free ones.

    A second board initialised on the same machine then boots without a port clash.
    """
    wanted = (REALTIME_PORT, REALTIME_PORT + 1)
    if all(sv.port_free(defaults.GATEWAY_HOST, port) for port in wanted):
        return wanted
    socks = [socket.socket() for _ in wanted]
    try:
        for sock in socks:
            sock.bind((defaults.GATEWAY_HOST, 0))
        return socks[0].getsockname()[1], socks[1].getsockname()[1]
    finally:
        for sock in socks:
            sock.close()


def card_secrets(config: Config, cards: Iterable[str] | None = None) -> dict[str, str]:
    """Ask the cards (default: the plugged ones) for the secrets they need: each card's
    `[provides] secrets` hook gets the config (its current secrets included, so a hook
    can build on one it made before) and returns names and fresh values."""
    registry = Registry.discover()
    names = [n for n in registry.names if n not in config.cards.unplugged]
    values: dict[str, str] = {}
    for name in names if cards is None else cards:
        hook = registry.hook(name, "secrets")
        if hook is not None:
            values.update(hook(config))
    return values


def add_card_secrets(config: Config, cards: Iterable[str] | None = None) -> list[str]:
    """Add the secrets the cards need and the secrets file lacks (never replacing one);
    return the names added, never their values."""
    wanted = card_secrets(config, cards)
    before = set(config.secrets)
    kept = add_missing_secrets(config.secrets_path, wanted)
    return sorted(n for n in kept if n not in before and kept[n] == wanted[n])


def write_secrets(path: Path, values: dict[str, str]) -> None:
    """Write the secrets file with mode 0600 from the start (never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, defaults.SECRET_FILE_MODE)
    with os.fdopen(fd, "w") as fh:
        fh.write("# Generated by `mobo init`. Keep private: mode 0600, never commit.\n")
        for key, value in values.items():
            fh.write(f'{key} = "{value}"\n')
    os.replace(tmp, path)


def add_missing_secret(path: Path, name: str, value: str) -> str:
    """Add one secret to an existing secrets file unless it is there; return the kept value."""
    return add_missing_secrets(path, {name: value})[name]


def add_missing_secrets(path: Path, values: Mapping[str, str]) -> dict[str, str]:
    """Add the secrets the file lacks; return the value now on file for each name.

    For secrets newer than a home (a card plugged, or installed, after `mobo init`):
    appended under an exclusive lock, so two processes never both add one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, defaults.SECRET_FILE_MODE)
    with os.fdopen(fd, "r+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        text = fh.read()
        current = tomllib.loads(text or "")
        missing = {k: v for k, v in values.items() if not current.get(k)}
        if missing:
            lead = "\n" if text and not text.endswith("\n") else ""
            fh.write(lead + "".join(f'{k} = "{v}"\n' for k, v in missing.items()))
            fh.flush()
            os.fsync(fh.fileno())
    return {k: str(current.get(k) or missing[k]) for k in values}
