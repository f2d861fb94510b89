"""The reporter's hand-built api.request envelopes match the bus's own encoding."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from components.gateway.platform.reporter import Reporter, rfc3339
from mobo.events import Event
from mobo.kernel.bus import wire_json
from mobo.kernel.keys import Keys


def test_event_json_matches_wire_json() -> None:
    reporter = Reporter(lambda: None, Keys("p"), metrics=None, mode="history")  # type: ignore[arg-type]
    at = time.time()
    data: dict[str, Any] = {"method": "GET", "path": "/rest/v1/é", "status": 200, "ms": 1.5}
    batch = [(at, data, None), (at + 1.000001, data, 'user:"x"')]
    commands = reporter._event_commands(batch)
    raws = [c[-1] for c in commands if c[0] == "PUBLISH"]
    assert [c[0] for c in commands] == ["PUBLISH", "XADD", "PUBLISH", "XADD"]
    ids = set()
    for (when, _, actor), raw in zip(batch, raws, strict=True):
        event = Event.from_json(raw)
        assert raw == wire_json(event)
        assert event.time == rfc3339(when) and event.context.actor == actor
        assert event.source["card"] == "gateway" and json.loads(raw)["data"] == data
        for hex_id in (event.id, event.context.id):
            assert uuid.UUID(hex_id).version == 4 and uuid.UUID(hex_id).hex == hex_id
            ids.add(hex_id)
    assert len(ids) == 4
