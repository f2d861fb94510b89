"""The `mobo` command: a click group; each module below adds its commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mobo import __version__
from mobo.exceptions import MoboError


class MoboGroup(click.Group):
    """Turns any MoboError into one line with a hint and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MoboError as exc:
            from mobo.cli import render

            render.error(str(exc), exc.hint)
            raise SystemExit(1) from None


@click.group(cls=MoboGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mobo")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MOBO_HOME",
    help="The board's home (default: $MOBO_HOME, else the current directory).",
)
@click.pass_context
def main(ctx: click.Context, home: Path | None) -> None:
    """MagFlock's motherboard: boot, watch and drive a board of cards."""
    ctx.obj = home.resolve() if home else None


def _register() -> None:
    from mobo.cli import board, cards, observe

    for module in (board, cards, observe):
        for command in module.COMMANDS:
            main.add_command(command)
    for command in card_commands():
        main.add_command(command)


def card_commands() -> list[click.Command]:
    """Return the commands every discovered card declares in `[provides] cli`.

    Each entry is `module:attribute`, naming a click command or a list of them. Cards are
    not filtered by plugging: `mobo` runs before it knows which board (`--home`) it drives.
    """
    from mobo.kernel.provided import provided
    from mobo.kernel.registry import Registry

    commands: list[click.Command] = []
    registry = Registry.discover()
    for name in registry.names:
        try:
            found = provided(registry, [name], "cli")
        except MoboError as exc:  # one broken card must not brick mobo
            click.echo(f"warning: {exc}", err=True)
            continue
        for entry in found:
            target = entry.target
            commands.extend(target if isinstance(target, list | tuple) else [target])
    return commands


_register()
