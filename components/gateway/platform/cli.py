"""`mobo schema:reload [STORE]`: make every gateway process reload a store's schema now."""

from __future__ import annotations

import click

from mobo.kernel.config import home_from_env, load_config

EVENT_TYPE = "schema.reloaded"


@click.command("schema:reload")
@click.argument("store", required=False)
@click.pass_context
def schema_reload(ctx: click.Context, store: str | None) -> None:
    """Reload STORE's schema (every store's without one) in every gateway process.

    Gateways notice DDL by themselves within `[gateway] schema_check_interval`; this
    makes them reload at once, and also after changes they cannot see (an engine
    without a schema version)."""
    from components.datastore.specs import store_tables
    from mobo.exceptions import BusUnavailable
    from mobo.kernel.bus import Bus
    from mobo.kernel.keys import Keys
    from mobo.kernel.redisconn import connect
    from mobo.kernel.status import board_redis_url

    config = load_config(home_from_env(ctx.obj))
    known = list(store_tables(config))  # `main` is always one, configured or not
    if store is not None and store not in known:
        raise click.ClickException(
            f"no datastore named {store!r}; this board's stores: {', '.join(known)}"
        )
    bus = Bus(connect(board_redis_url(config), timeout=2.0), Keys(config.namespace), "cli")
    try:
        bus.emit(EVENT_TYPE, {"store": store, "reason": "cli", "fingerprint": None})
    finally:
        bus.close()
    if bus.dropped:
        raise BusUnavailable(
            f"the board's Redis ({bus.redis_url}) did not take the event",
            hint="start the board (`mobo boot`), or check [redis] url",
        )
    click.echo(f"asked every gateway process to reload {store or 'every store'}'s schema")


COMMANDS = [schema_reload]
