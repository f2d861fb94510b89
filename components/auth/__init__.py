"""The `auth` card (MagAuth): GoTrue-compatible auth, JWTs and API keys.

A library card: it runs no process of its own. The gateway mounts its routes
(`components.auth.routes.mount`) and authenticates every request with the `MagAuth`
object that returns (`authenticate(headers) -> Principal`, `tokens.verify(token)`).
Its tables live in the board's default store (see docs/auth.md).
"""

from __future__ import annotations

from mobo.contract import Card
from mobo.kernel.config import Config


class AuthCard(Card):
    name = "auth"

    def wanted(self, config: Config) -> bool:
        """No process to supervise: the gateway carries MagAuth."""
        return False


CARD = AuthCard()
