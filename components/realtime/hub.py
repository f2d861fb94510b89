"""Who is connected and subscribed where: the server's in-memory state (one event loop).

A `Channel` holds its subscriptions; a presence channel also counts each member's
sockets, so a user with two tabs joins once and leaves when the last tab goes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from websockets.asyncio.server import broadcast


class Socket(Protocol):
    """What the hub needs of a connection (websockets' ServerConnection)."""

    async def send(self, message: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Identity:
    """The MagAuth caller that authorized a subscription (stored by `/realtime/v1/auth`)."""

    role: str
    sub: str | None
    claims: dict[str, Any]
    key: str = field(init=False, repr=False, compare=False)
    """Subscribers with the same key see the same rows (computed once: the delivery
    groups a channel's subscribers by it for every change)."""

    def __post_init__(self) -> None:
        key = json.dumps([self.role, self.sub, self.claims], sort_keys=True, default=str)
        object.__setattr__(self, "key", key)


@dataclass(slots=True)
class Client:
    socket: Any
    socket_id: str
    channels: set[str] = field(default_factory=set)
    seen: float = 0.0  # monotonic time of the last frame from the client
    pinged: float = 0.0  # when the server pinged it for silence (0: not pinged)


@dataclass(slots=True)
class Subscription:
    client: Client
    identity: Identity | None = None
    member: tuple[str, Any] | None = None  # presence: (user_id, user_info)


@dataclass(slots=True)
class Channel:
    name: str
    subs: dict[str, Subscription] = field(default_factory=dict)
    members: dict[str, list[Any]] = field(default_factory=dict)  # user_id -> [info, sockets]

    def presence_data(self) -> dict[str, Any]:
        ids = list(self.members)
        hash_ = {uid: entry[0] for uid, entry in self.members.items()}
        return {"presence": {"ids": ids, "hash": hash_, "count": len(ids)}}


class Hub:
    """The server's clients and channels."""

    def __init__(self) -> None:
        self.clients: dict[str, Client] = {}
        self.channels: dict[str, Channel] = {}

    def connect(self, socket: Any, socket_id: str) -> Client:
        client = Client(socket, socket_id)
        self.clients[socket_id] = client
        return client

    def disconnect(self, client: Client) -> list[tuple[str, str]]:
        """Drop a client; return the (channel, user_id) presence members that left."""
        self.clients.pop(client.socket_id, None)
        left = []
        for name in list(client.channels):
            gone = self.unsubscribe(client, name)
            if gone is not None:
                left.append((name, gone))
        return left

    def subscribe(self, client: Client, name: str, sub: Subscription) -> bool:
        """Add a subscription; return True when it made a new presence member."""
        channel = self.channels.setdefault(name, Channel(name))
        previous = channel.subs.get(client.socket_id)
        if previous is not None:  # subscribing again replaces, as Pusher does
            self.unsubscribe(client, name)
            channel = self.channels.setdefault(name, Channel(name))
        channel.subs[client.socket_id] = sub
        client.channels.add(name)
        if sub.member is None:
            return False
        uid, info = sub.member
        entry = channel.members.get(uid)
        if entry is None:
            channel.members[uid] = [info, 1]
            return True
        entry[1] += 1
        return False

    def unsubscribe(self, client: Client, name: str) -> str | None:
        """Remove a subscription; return the presence user_id if that member left."""
        client.channels.discard(name)
        channel = self.channels.get(name)
        if channel is None:
            return None
        sub = channel.subs.pop(client.socket_id, None)
        left = None
        if sub is not None and sub.member is not None:
            uid = sub.member[0]
            entry = channel.members.get(uid)
            if entry is not None:
                entry[1] -= 1
                if entry[1] <= 0:
                    del channel.members[uid]
                    left = uid
        if not channel.subs:
            del self.channels[name]
        return left

    def subscribers(self, name: str) -> list[Subscription]:
        channel = self.channels.get(name)
        return list(channel.subs.values()) if channel else []

    def send(self, name: str, message: str, *, exclude: str | None = None) -> int:
        """Send `message` to every subscriber of a channel (but `exclude`); return how many."""
        sockets = [s.client.socket for s in self.subscribers(name) if s.client.socket_id != exclude]
        return self.send_to(sockets, message)

    @staticmethod
    def send_to(sockets: Iterable[Any], message: str) -> int:
        targets = list(sockets)
        broadcast(targets, message)  # never waits: a slow client is dropped, not awaited
        return len(targets)

    def stats(self) -> dict[str, Any]:
        return {
            "connections": len(self.clients),
            "channels": {
                name: {"subscription_count": len(ch.subs), "user_count": len(ch.members)}
                for name, ch in self.channels.items()
            },
        }

    def matching(self, prefix: str = "") -> Iterator[Channel]:
        return (ch for name, ch in self.channels.items() if name.startswith(prefix))
