"""The example card of docs/cards.md: no process, everything it brings is hosted.

`routes.mount` answers `GET /example/v1/hello` and `GET /example/v1/seen` in the gateway;
`hooks.middleware` refuses `/example/v1/private` before any route runs and marks every
response; `handlers.on_change` records the last `data.change` event, in the worker.
"""

from __future__ import annotations

from mobo.contract import Card


class ExampleCard(Card):
    name = "example"


CARD = ExampleCard()
