"""`mobo keys:list`, `keys:create`, `keys:revoke`, `auth:signing-key`: the auth card's commands."""

from __future__ import annotations

import os

import click

from mobo import defaults
from mobo.exceptions import MoboError
from mobo.kernel.config import Config, home_from_env, load_config

PROJECT_KEY_LIFETIME_S = 10 * 365 * 24 * 3600  # as `mobo init` makes them


def _config(ctx: click.Context) -> Config:
    return load_config(home_from_env(ctx.obj))


def _auth(config: Config):  # type: ignore[no-untyped-def]
    from components.auth.runtime import MagAuth

    return MagAuth(config)


def project_key_rows(config: Config) -> list[dict[str, str | None]]:
    """The anon and service_role keys from the secrets (JWTs: shown in full)."""
    s = config.secrets
    return [
        {"name": "anon", "role": "anon", "key": s.anon_key, "kind": "project_key"},
        {
            "name": "service_role",
            "role": "service_role",
            "key": s.service_role_key,
            "kind": "project_key",
        },
    ]


@click.command("keys:list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects.")
@click.option("--all", "show_all", is_flag=True, help="Include revoked API keys.")
@click.pass_context
def keys_list(ctx: click.Context, as_json: bool, show_all: bool) -> None:
    """Show the anon and service_role keys, then the API keys (prefix only)."""
    from mobo.cli import render

    config = _config(ctx)
    rows: list[dict] = project_key_rows(config)
    try:
        keys = _auth(config).api_keys.list()
    except MoboError as exc:  # the store is down: the project keys are still useful
        click.echo(f"warning: API keys not listed: {exc}", err=True)
        keys = []
    rows += [k.as_dict() for k in keys if show_all or k.revoked is None]
    if as_json:
        render.print_json(rows)
    else:
        render.keys_table(rows)


@click.command("keys:create")
@click.option("--role", required=True, help="The role requests with this key run as.")
@click.option("--name", required=True, help="A name to list and revoke it by.")
@click.option("--expires", help="A span (30d, 12h, 2w) or an ISO date; default: never.")
@click.option("--json", "as_json", is_flag=True, help="Print the key as a JSON object.")
@click.pass_context
def keys_create(
    ctx: click.Context, role: str, name: str, expires: str | None, as_json: bool
) -> None:
    """Make an API key for a service account, device or agent (shown once)."""
    from components.auth.apikeys import parse_expires
    from mobo.cli import render

    api_keys = _auth(_config(ctx)).api_keys
    key, record = api_keys.create(name, role, parse_expires(expires, api_keys.now()))
    if as_json:
        render.print_json({**record.as_dict(), "key": key})
        return
    render.console.print(
        f"[green]✓[/] key [bold]{name}[/] (role {role}) — copy it now, it is not shown again:"
    )
    click.echo(key)


@click.command("keys:revoke")
@click.argument("name")
@click.pass_context
def keys_revoke(ctx: click.Context, name: str) -> None:
    """Revoke the API key named NAME (requests with it are refused from now on)."""
    from mobo.cli import render

    count = _auth(_config(ctx)).api_keys.revoke(name)
    render.console.print(
        f"[green]✓[/] revoked {count} key{'s' if count > 1 else ''} named [bold]{name}[/]"
    )


@click.command("auth:signing-key")
@click.option("--algorithm", type=click.Choice(["RS256", "ES256"]), required=True)
@click.pass_context
def signing_key(ctx: click.Context, algorithm: str) -> None:
    """Make an RS256/ES256 key pair and re-sign the anon and service_role keys with it."""
    import tomllib

    import tomli_w

    from components.auth.keys import asymmetric, generate_private_key
    from components.auth.settings import load_settings
    from components.auth.tokens import Tokens
    from mobo.cli import render

    config = _config(ctx)
    pem = generate_private_key(algorithm)
    settings = load_settings(config)
    tokens = Tokens(settings, asymmetric(algorithm, pem, kid=settings.jwt_kid))
    path = config.secrets_path
    values = tomllib.loads(path.read_text()) if path.exists() else {}
    values |= {
        "jwt_private_key": pem,
        "anon_key": tokens.project_key("anon", lifetime_s=PROJECT_KEY_LIFETIME_S),
        "service_role_key": tokens.project_key("service_role", lifetime_s=PROJECT_KEY_LIFETIME_S),
    }
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, defaults.SECRET_FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump(values, fh)
    os.replace(tmp, path)
    render.console.print(
        f"[green]✓[/] {algorithm} key pair written to {path}; anon and service_role keys re-signed"
    )
    render.console.print(
        f'  next: [bold][auth] jwt_algorithm = "{algorithm}"[/] in mobo.toml, restart the gateway'
    )


COMMANDS = [keys_list, keys_create, keys_revoke, signing_key]
