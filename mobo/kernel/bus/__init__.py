"""The system bus: board events over Redis pub/sub and a capped history stream.

Publishing: `Bus.emit` PUBLISHes the envelope on `<prefix>:evt:<type>` and XADDs it to
`<prefix>:history` in one pipelined round trip. It never raises because Redis is down
or slow: the event is counted in `Bus.dropped` and a warning is logged now and then.

Receiving: `Bus.start` runs one listener thread that, for the event types its handlers
want only, SUBSCRIBEs `<prefix>:evt:<type>` (an exact type) or PSUBSCRIBEs
`<prefix>:evt:<glob>`, following `on`/`off`; it hands events to in-process handlers
through a small thread pool; see `Bus` for the delivery guarantees. Pub/sub is
fire-and-forget: events published while a process is disconnected are not replayed to
it; the state of record lives in Redis keys, and the history stream backs
`mobo events:tail`.

One idea a module:

- `wire`: Redis I/O that must not hold a caller up (`fail_fast`, `pipelined`,
  `wire_json`, `redis_url`), also used by the cache and by cards that write to Redis on
  a request path;
- `guard`: `RedisGuard`, carrying on through a Redis outage;
- `targets`: the Redis subscriptions that receive what a set of globs wants;
- `dispatch`: subscriptions, per-handler queues, the worker pool and its watchdog;
- `listener`: the connection and thread that receive events from Redis;
- `history`: the history stream (`history()`, `follow()`);
- `bus`: `Bus`, the handle a process holds.
"""

from __future__ import annotations

from mobo.kernel.bus.bus import Bus
from mobo.kernel.bus.dispatch import Handler, Subscription
from mobo.kernel.bus.guard import RedisGuard
from mobo.kernel.bus.history import History
from mobo.kernel.bus.targets import redis_target, redis_targets
from mobo.kernel.bus.wire import fail_fast, pipelined, redis_url, wire_json

__all__ = [
    "Bus",
    "Handler",
    "History",
    "RedisGuard",
    "Subscription",
    "fail_fast",
    "pipelined",
    "redis_target",
    "redis_targets",
    "redis_url",
    "wire_json",
]
