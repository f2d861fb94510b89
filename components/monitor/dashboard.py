"""`mobo monitor`: the live terminal dashboard, fed by the bus.

It reads the state of record from Redis once (cards' reports, the monitor's health
rows), then follows the bus: component, health and system events move the cards; api
events feed requests/s and the error rate; every event feeds the rates by type and the
scrolling list. When Redis goes away it says "bus lost, reconnecting" and re-reads the
state once the listener is back (events published meanwhile are gone: pub/sub).
Any other program can build the same view: the channels and keys are in docs/events.md.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import redis
from rich.console import Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from components.monitor.report import read_report
from mobo.cli.render import console, styled
from mobo.events import Event
from mobo.kernel.bus import Bus
from mobo.kernel.config import Config
from mobo.kernel.keys import Keys
from mobo.kernel.redisconn import connect, read_cards
from mobo.kernel.registry import Registry
from mobo.kernel.status import board_redis_url, card_fields

RATE_WINDOW_S = 10.0
LAST_EVENTS = 14
ALERTS = ("health.failed", "health.critical", "system.critical", "component.failed")
CARD_STATE_BY_EVENT = {
    "component.started": "running",
    "component.stopped": "stopped",
    "component.failed": "failed",
    "component.not_ready": "not_ready",
    "component.restarted": "starting",
    "component.unplugged": "unplugged",
    "component.plugged": "running",
}
HEALTH_BY_EVENT = {
    "health.degraded": "degraded",
    "health.critical": "critical",
    "health.failed": "failed",
    "health.recovered": "healthy",
}


@dataclass
class View:
    """Everything the dashboard shows; mutated by the bus thread, drawn by the main one."""

    cards: dict[str, dict[str, str]] = field(default_factory=dict)
    events: deque[Event] = field(default_factory=lambda: deque(maxlen=LAST_EVENTS))
    stamps: deque[tuple[float, str, int]] = field(default_factory=deque)  # time, type, status
    restarts: Counter[str] = field(default_factory=Counter)
    last_backup: str = "none yet"  # the newest good backup set (MagBackup)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def apply(self, event: Event) -> None:
        with self.lock:
            self.events.appendleft(event)
            status = int(event.data.get("status", 0) or 0) if event.type == "api.request" else 0
            self.stamps.append((time.time(), event.type, status))
            card = str(event.data.get("card", ""))
            if card and event.type in CARD_STATE_BY_EVENT:
                self.cards.setdefault(card, {})["state"] = CARD_STATE_BY_EVENT[event.type]
            if card and event.type in HEALTH_BY_EVENT:
                row = self.cards.setdefault(card, {})
                row["health"] = HEALTH_BY_EVENT[event.type]
                row["detail"] = str(event.data.get("detail", ""))
            if card and event.type == "component.restarted":
                self.restarts[card] += 1
            if event.type == "backup.completed":
                self.last_backup = f"{event.data.get('id')} (at {event.time[:19]}Z)"

    def rates(self) -> tuple[float, float, Counter[str]]:
        """Requests/s, error rate and events/s by type over the last window."""
        cutoff = time.time() - RATE_WINDOW_S
        with self.lock:
            while self.stamps and self.stamps[0][0] < cutoff:
                self.stamps.popleft()
            by_type = Counter(t for _, t, _ in self.stamps)
            requests = [s for _, t, s in self.stamps if t == "api.request"]
        errors = sum(1 for s in requests if s >= 500)
        rate = len(requests) / RATE_WINDOW_S
        return rate, (errors / len(requests) if requests else 0.0), by_type


def load_state(config: Config, view: View) -> None:
    """Re-read the state of record (cards' own reports, the monitor's health rows)."""
    names = Registry.discover().names
    client = connect(board_redis_url(config), timeout=1.0)
    reports = read_cards(client, Keys(config.namespace), names)
    health = read_report(config)["cards"]
    backup = card_fields(config).get("last_backup")  # MagBackup's, when it is plugged
    with view.lock:
        if backup is not None:
            view.last_backup = f"{backup['id']} (at {backup['created'][:19]}Z)"
        for name in names:
            report, row = reports.get(name, {}), health.get(name, {})
            state = report.get("state") if report.get("alive") == "1" else "stopped"
            if name in config.cards.unplugged:
                state = "unplugged"
            view.cards[name] = {
                "state": state or "stopped",
                "health": row.get("state") or report.get("health", "unknown"),
                "detail": row.get("detail") or report.get("detail", ""),
            }
            view.restarts[name] = int(row.get("restarts", 0) or 0)


def draw(config: Config, view: View, bus: Bus) -> Group:
    rate, error_rate, by_type = view.rates()
    bus_line = (
        Text("bus: connected", style="green")
        if bus.listening
        else Text("bus lost, reconnecting…", style="bold red")
    )
    header = Text.assemble(
        (f"MagFlock {config.board.name} ", "bold"),
        (config.board.id, "dim"),
        "  ",
        bus_line,
        f"   requests/s {rate:.1f}  errors {error_rate * 100:.1f} %",
        f"   last good backup {view.last_backup}",
    )
    cards = Table(show_edge=False, header_style="bold", expand=True)
    for col in ("card", "state", "health", "restarts", "detail"):
        cards.add_column(col)
    with view.lock:
        for name, row in sorted(view.cards.items()):
            cards.add_row(
                name,
                styled(row.get("state")),
                styled(row.get("health")),
                str(view.restarts.get(name, 0)),
                row.get("detail", ""),
            )
        events = list(view.events)
    rates = Table(show_edge=False, header_style="bold")
    rates.add_column("event type")
    rates.add_column(f"per s ({RATE_WINDOW_S:.0f}s)", justify="right")
    for type_, count in by_type.most_common(8):
        rates.add_row(type_, f"{count / RATE_WINDOW_S:.1f}")
    lines = Text()
    for event in events:
        style = "bold red" if event.type in ALERTS else ""
        lines.append(
            f"{event.time[11:23]} {event.type:<22} "
            f"{event.source.get('card')}: {_brief(event.data)}\n",
            style=style,
        )
    return Group(
        Panel(header),
        Panel(cards, title="cards"),
        Panel(rates, title="event rate"),
        Panel(lines, title="last events"),
    )


def _brief(data: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in data.items())
    return text if len(text) < 90 else text[:87] + "…"


def run_dashboard(config: Config, *, refresh_s: float = 0.25) -> None:
    """Draw until Ctrl-C."""
    view = View()
    client = connect(board_redis_url(config), timeout=None)
    bus = Bus(client, Keys(config.namespace), "dashboard")
    bus.on("*", view.apply)
    bus.start()
    epoch = -1
    with Live(console=console, screen=True, auto_refresh=False) as live:
        try:
            while True:
                if bus.listening and bus.epoch != epoch:
                    try:
                        load_state(config, view)
                        epoch = bus.epoch
                    except redis.RedisError:
                        pass
                live.update(draw(config, view, bus), refresh=True)
                time.sleep(refresh_s)
        except KeyboardInterrupt:
            pass
        finally:
            bus.close()
