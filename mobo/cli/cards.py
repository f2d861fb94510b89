"""`mobo component:list|start|stop|restart`, `mobo plug`, `mobo unplug`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mobo.kernel.config import home_from_env, load_config

if TYPE_CHECKING:
    from mobo.kernel.lifecycle import Lifecycle


def _lifecycle(ctx: click.Context) -> Lifecycle:
    from mobo.kernel.lifecycle import Lifecycle

    return Lifecycle(load_config(home_from_env(ctx.obj)))


@click.command("component:list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def component_list(ctx: click.Context, as_json: bool) -> None:
    """List the cards in the registry with their manifests and state."""
    from mobo.cli import render
    from mobo.kernel.registry import Registry
    from mobo.kernel.status import collect

    config = load_config(home_from_env(ctx.obj))
    registry = Registry.discover()
    states = {c.name: c.state for c in collect(config).cards}
    rows = [
        {
            "name": m.name,
            "version": m.version,
            "description": m.description,
            "depends_on": list(m.depends_on),
            "plugged": m.name not in config.cards.unplugged,
            "state": states.get(m.name, "unknown"),
        }
        for m in (registry.get(n) for n in registry.order())
    ]
    if as_json:
        render.print_json(rows)
    else:
        render.cards_table(rows)


@click.command("component:start")
@click.argument("name")
@click.pass_context
def component_start(ctx: click.Context, name: str) -> None:
    """Start a card and wait until it reports ready."""
    from mobo.cli import render

    _lifecycle(ctx).start(name)
    render.console.print(f"[green]✓[/] {name} running")


@click.command("component:stop")
@click.argument("name")
@click.pass_context
def component_stop(ctx: click.Context, name: str) -> None:
    """Stop a card (gracefully, then killed after the stop timeout)."""
    from mobo.cli import render

    blocked = _lifecycle(ctx).stop(name)
    render.console.print(f"[green]✓[/] {name} stopped")
    if blocked:
        render.console.print(
            f"[yellow]![/] {', '.join(blocked)} depend on {name} and may "
            "not work until it runs again"
        )


@click.command("component:restart")
@click.argument("name")
@click.pass_context
def component_restart(ctx: click.Context, name: str) -> None:
    """Stop and start a card."""
    from mobo.cli import render

    _lifecycle(ctx).restart(name)
    render.console.print(f"[green]✓[/] {name} restarted")


@click.command()
@click.argument("name")
@click.pass_context
def plug(ctx: click.Context, name: str) -> None:
    """Plug a card in (config), and start it on the running board."""
    from mobo.cli import render

    _lifecycle(ctx).plug(name)
    render.console.print(f"[green]✓[/] {name} plugged in")


@click.command()
@click.argument("name")
@click.pass_context
def unplug(ctx: click.Context, name: str) -> None:
    """Unplug a card that nothing depends on; the other cards keep running."""
    from mobo.cli import render

    _lifecycle(ctx).unplug(name)
    render.console.print(f"[green]✓[/] {name} unplugged")


COMMANDS = [component_list, component_start, component_stop, component_restart, plug, unplug]
