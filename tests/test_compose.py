"""Checks of the container deployment in compose/ that need no Docker engine.

Each compose file is validated and resolved by `docker-compose config` (the real
parser, with interpolation), then checked against the repository:

* every `mobo ...` command a container runs is a subcommand (and options) of the real
  click CLI in `mobo.cli`, and `mobo run CARD` names a card under components/;
* every other service runs an official image whose binaries match its command and
  health check;
* health-check dependencies, the one-shot `init` and the proxy upstream are wired to
  services that exist;
* the Dockerfile's entrypoint and copied sources exist in the repository;
* no secret-looking literal is written in any file of compose/.

Only the tests that run `docker-compose` are skipped when it is not installed
(`scripts/test` installs it with apt). PyYAML is not a project dependency: the YAML
that `docker-compose config` prints is parsed by whichever Python has it (docker-compose
1.x itself runs on one), or asked for as JSON from Compose v2.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest

REPO = Path(__file__).resolve().parents[1]
COMPOSE_DIR = REPO / "compose"
DOCKERFILE = COMPOSE_DIR / "Dockerfile"
ENTRYPOINT_SCRIPT = COMPOSE_DIR / "entrypoint.sh"
PROXY_CONFIG = COMPOSE_DIR / "haproxy.cfg"
SINGLE = "docker-compose.yml"
SCALE = "docker-compose.scale.yml"
COMPOSE_FILES = (SINGLE, SCALE)

# What `config` needs to interpolate; the files must refuse to resolve without it.
REQUIRED_ENV = {"POSTGRES_PASSWORD": "test"}
# Variables of the developer's shell that would leak into the resolved config.
LEAKY_ENV_PREFIXES = ("POSTGRES_", "MAGFLOCK_", "MOBO_", "COMPOSE_")

BOARD_IMAGE = "magflock/mobo"
# Official images the files may use -> binaries allowed as the service's command,
# and binaries allowed in its health check (present in that image).
OFFICIAL_IMAGES: dict[str, dict[str, set[str]]] = {
    "redis": {"command": {"redis-server", "redis-sentinel"}, "healthcheck": {"redis-cli"}},
    "postgres": {"command": {"postgres"}, "healthcheck": {"pg_isready", "psql"}},
    "haproxy": {"command": {"haproxy"}, "healthcheck": {"wget"}},  # -alpine: busybox wget
    "nginx": {"command": {"nginx"}, "healthcheck": {"wget", "curl"}},
}
BOARD_HEALTHCHECK_BINARIES = {"python", "python3", "mobo"}


# --------------------------------------------------------------------------------------
# docker-compose
# --------------------------------------------------------------------------------------


@cache
def compose_command() -> tuple[str, ...] | None:
    """`docker-compose` (1.x, or a v2 standalone binary), else the `docker compose` plugin."""
    if path := shutil.which("docker-compose"):
        return (path,)
    if docker := shutil.which("docker"):
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return (docker, "compose")
    return None


needs_compose = pytest.mark.skipif(
    compose_command() is None,
    reason="docker-compose is not installed (scripts/test installs it with apt-get)",
)


def compose_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(LEAKY_ENV_PREFIXES)}
    env.update(overrides)
    return env


def run_compose(
    file: str, *args: str, env: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """Run compose on one file, ignoring any developer's compose/.env."""
    cmd = compose_command()
    assert cmd is not None
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    return subprocess.run(
        [*cmd, "--env-file", str(empty_env_file), "-f", str(COMPOSE_DIR / file), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def yaml_pythons() -> list[str]:
    """Interpreters that may have PyYAML: docker-compose 1.x's own, then the system one."""
    candidates = []
    if (cmd := compose_command()) and len(cmd) == 1:
        try:
            first = Path(cmd[0]).read_bytes()[:200].split(b"\n", 1)[0].decode()
        except (OSError, UnicodeDecodeError):
            first = ""
        if first.startswith("#!"):
            candidates.append(first[2:].strip().split()[0])
    candidates += ["/usr/bin/python3", "python3"]
    return [c for i, c in enumerate(candidates) if c not in candidates[:i]]


def parse_resolved(text: str, file: str, env: dict[str, str], tmp_path: Path) -> dict:
    """Turn `config` output into a dict without PyYAML being a project dependency."""
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        pass
    else:
        return yaml.safe_load(text)
    # Compose v2 prints JSON on request; 1.x rejects the option.
    as_json = run_compose(file, "config", "--format", "json", env=env, tmp_path=tmp_path)
    if as_json.returncode == 0:
        try:
            return json.loads(as_json.stdout)
        except ValueError:
            pass
    to_json = "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"
    for python in yaml_pythons():
        if not shutil.which(python):
            continue
        done = subprocess.run(
            [python, "-c", to_json], input=text, capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            return json.loads(done.stdout)
    pytest.fail(
        "cannot parse `docker-compose config` output: no Python with PyYAML found "
        f"(tried {yaml_pythons()}) and `config --format json` is not supported"
    )


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compose")


@cache
def _resolve(file: str, tmp_dir: str) -> tuple[subprocess.CompletedProcess[str], dict | None]:
    env = compose_env(**REQUIRED_ENV)
    done = run_compose(file, "config", env=env, tmp_path=Path(tmp_dir))
    if done.returncode != 0:
        return done, None
    return done, parse_resolved(done.stdout, file, env, Path(tmp_dir))


def resolved(file: str, module_tmp: Path) -> dict:
    """The fully resolved compose model of one file (fails if `config` fails)."""
    done, model = _resolve(file, str(module_tmp))
    assert done.returncode == 0, f"docker-compose config failed for {file}:\n{done.stderr}"
    assert model and isinstance(model.get("services"), dict), f"{file}: no services"
    return model


# --------------------------------------------------------------------------------------
# Helpers: commands, images, the Dockerfile
# --------------------------------------------------------------------------------------


def argv(value: Any) -> list[str]:
    """A compose command/entrypoint/test as an argv list (string form is shell-split)."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(part) for part in value]


def image_repo(image: str) -> str:
    """'docker.io/library/redis:7' -> 'redis'; 'magflock/mobo:latest' -> 'magflock/mobo'."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    for prefix in ("docker.io/library/", "library/", "docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return name


def mount_target(volume: Any) -> str:
    """Container path of a volume entry (1.x prints 'src:/target:rw', v2 a mapping)."""
    if isinstance(volume, dict):
        return str(volume.get("target", ""))
    parts = str(volume).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def mount_source(volume: Any) -> str:
    if isinstance(volume, dict):
        return str(volume.get("source", ""))
    return str(volume).split(":")[0]


def is_board(service: dict) -> bool:
    return "build" in service or image_repo(service.get("image", "")) == BOARD_IMAGE


def healthcheck_argv(service: dict) -> list[str] | None:
    """The health check's command, [] when disabled, None when the file sets none."""
    check = service.get("healthcheck")
    if check is None:
        return None
    if check.get("disable"):
        return []
    test = argv(check.get("test"))
    if not test or test[0] == "NONE":
        return []
    if test[0] == "CMD-SHELL":
        return shlex.split(" ".join(test[1:]))
    if test[0] == "CMD":
        return test[1:]
    return test


@cache
def dockerfile_instructions() -> tuple[tuple[str, str], ...]:
    """(INSTRUCTION, arguments) of every Dockerfile line, continuations joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or not (pending or line):
            continue  # comments may also sit inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, rest = full.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return tuple(instructions)


def dockerfile_final_stage() -> tuple[tuple[str, str], ...]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM")
    return instructions[last_from:]


def dockerfile_instruction(name: str) -> str | None:
    values = [rest for kw, rest in dockerfile_final_stage() if kw == name]
    return values[-1] if values else None


def exec_form(value: str | None) -> list[str]:
    if value is None:
        return []
    value = value.strip()
    return json.loads(value) if value.startswith("[") else shlex.split(value)


def board_argv(service: dict) -> list[str]:
    """What a board container runs after its entrypoint: its command or the image CMD."""
    return argv(service.get("command")) or exec_form(dockerfile_instruction("CMD"))


def entrypoint_mobo_commands() -> list[list[str]]:
    """`mobo SUBCOMMAND ...` lines that compose/entrypoint.sh executes itself."""
    found = []
    for line in ENTRYPOINT_SCRIPT.read_text().splitlines():
        stripped = line.strip()
        if re.match(r"^mobo\s+[a-z][\w:-]*", stripped):
            found.append(shlex.split(stripped))
    return found


def all_board_commands(module_tmp: Path) -> list[tuple[str, list[str]]]:
    """(where, argv) of every mobo command the deployment runs."""
    commands = [("Dockerfile CMD", exec_form(dockerfile_instruction("CMD")))]
    commands += [("compose/entrypoint.sh", cmd) for cmd in entrypoint_mobo_commands()]
    for file in COMPOSE_FILES:
        for name, service in resolved(file, module_tmp)["services"].items():
            if is_board(service):
                commands.append((f"{file}: {name}", board_argv(service)))
    return commands


# --------------------------------------------------------------------------------------
# Secret scanning
# --------------------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$\$?\{[^}]*\}|\$\$?[A-Za-z_]\w*")
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b[\w.-]*(password|passwd|pwd|secret|token|api[_-]?key|private[_-]?key)[\w.-]*"
    r"[\"']?\s*[:=]\s*[\"']?(?P<value>[^\s\"'#,}\]]*)"
)
_URL_CREDENTIALS = re.compile(r"://[^/\s:@]*:(?P<value>[^@\s/]+)@")
_HEX = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z])")
_B64ISH = re.compile(r"(?<![\w+/-])[A-Za-z0-9+_-]{32,}={0,2}")


def secret_findings(text: str) -> list[str]:
    """Lines of text that look like they carry a literal secret."""
    findings = []
    for number, line in enumerate(text.splitlines(), 1):
        # ${VAR}, ${VAR:?msg}, $$VAR: references, never literals.
        scrubbed = _INTERPOLATION.sub("$VAR", line)
        reasons = []
        for match in _SECRET_ASSIGNMENT.finditer(scrubbed):
            value = match.group("value")
            if value and not value.startswith("$"):
                reasons.append(f"literal value {value!r}")
        for match in _URL_CREDENTIALS.finditer(scrubbed):
            if not match.group("value").startswith("$"):
                reasons.append("credentials inside a URL")
        if _HEX.search(scrubbed):
            reasons.append("long hex string")
        for match in _B64ISH.finditer(scrubbed):
            token = match.group(0)
            if (
                any(c.isupper() for c in token)
                and any(c.islower() for c in token)
                and any(c.isdigit() for c in token)
            ):
                reasons.append("long base64-like string")
        if reasons:
            findings.append(f"line {number}: {', '.join(reasons)}: {line.strip()}")
    return findings


def compose_dir_files() -> list[Path]:
    """Every file in compose/, except a local .env (real secrets, never committed)."""
    return sorted(
        path
        for path in COMPOSE_DIR.rglob("*")
        if path.is_file() and path.name != ".env" and "__pycache__" not in path.parts
    )


# ======================================================================================
# Tests that need no docker-compose
# ======================================================================================


def test_secret_scanner_catches_literals() -> None:
    """The scanner below must not pass vacuously."""
    assert secret_findings("POSTGRES_PASSWORD=hunter2hunter2")
    assert secret_findings("      POSTGRES_PASSWORD: hunter2")
    assert secret_findings("MOBO_REDIS_URL: redis://:s3cr3t@redis:6379/0")
    assert secret_findings("jwt: " + "0123456789abcdef" * 3)
    assert secret_findings("key " + "Zm9vYmFyYmF6cXV4UXV1eDEyMzQ1Njc4OTBhYmNk")
    assert not secret_findings("POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it in .env}")
    assert not secret_findings("POSTGRES_PASSWORD=")
    assert not secret_findings("dsn: postgresql://${USER:-u}:${POSTGRES_PASSWORD}@pg:5432/db")
    assert not secret_findings('test: ["CMD-SHELL", "pg_isready -U \\"$$POSTGRES_USER\\""]')
    assert not secret_findings("MOBO_REDIS_URL: redis://redis:6379/0")


def test_no_secret_literals_in_compose_dir() -> None:
    files = compose_dir_files()
    assert files, "compose/ is empty"
    problems = [
        f"{path.relative_to(REPO)} {finding}"
        for path in files
        for finding in secret_findings(path.read_text(errors="replace"))
    ]
    assert not problems, "secret-looking literals in compose/:\n" + "\n".join(problems)


def test_dockerfile_copies_existing_sources_and_scripts() -> None:
    stage = dockerfile_final_stage()
    entrypoint = exec_form(dockerfile_instruction("ENTRYPOINT"))
    assert entrypoint, "the Dockerfile's final stage sets no ENTRYPOINT"
    # The entrypoint binary must be a file COPY'd from the repository.
    copies: dict[str, list[str]] = {}
    for keyword, rest in dockerfile_instructions():
        if keyword not in {"COPY", "ADD"}:
            continue
        words = shlex.split(rest)
        if any(w.startswith("--from") for w in words):
            continue  # from another stage, not from the repository
        *sources, dest = [w for w in words if not w.startswith("--")]
        for source in sources:
            if not any(ch in source for ch in "*?["):
                assert (REPO / source).exists(), f"Dockerfile copies missing {source!r}"
            copies.setdefault(dest, []).append(source)
    assert entrypoint[0] in copies, f"ENTRYPOINT {entrypoint[0]} is not copied from the repo"
    for source in copies[entrypoint[0]]:
        script = REPO / source
        assert script.is_file(), f"entrypoint script {source} missing"
        syntax = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
        assert syntax.returncode == 0, f"{source}: {syntax.stderr}"

    cmd = exec_form(dockerfile_instruction("CMD"))
    assert cmd[:2] == ["mobo", "boot"], f"default CMD should boot the board, got {cmd}"
    user = dockerfile_instruction("USER")
    assert user and user.split(":")[0] not in {"root", "0"}, "the image must not run as root"
    assert "8000" in (dockerfile_instruction("EXPOSE") or "")
    assert "/data" in (dockerfile_instruction("VOLUME") or "")
    env = " ".join(rest for kw, rest in stage if kw == "ENV")
    assert "MOBO_HOME=/data" in env
    healthcheck = dockerfile_instruction("HEALTHCHECK") or ""
    assert "/health" in healthcheck and "python" in healthcheck


def test_entrypoint_keeps_init_idempotent_and_execs() -> None:
    text = ENTRYPOINT_SCRIPT.read_text()
    assert text.startswith("#!/bin/sh"), "python:3.11-slim has /bin/sh (dash), not always bash"
    assert 'exec "$@"' in text, "the entrypoint must exec the command (signals, PID 1)"
    assert "mobo.toml" in text
    assert os.access(ENTRYPOINT_SCRIPT, os.X_OK) or "chmod" in DOCKERFILE.read_text()


# ======================================================================================
# Tests that run docker-compose config
# ======================================================================================


@needs_compose
@pytest.mark.parametrize("file", COMPOSE_FILES)
def test_compose_config_is_valid(file: str, module_tmp: Path) -> None:
    resolved(file, module_tmp)


@needs_compose
@pytest.mark.parametrize("file", COMPOSE_FILES)
def test_compose_refuses_to_run_without_postgres_password(file: str, tmp_path: Path) -> None:
    done = run_compose(file, "config", env=compose_env(), tmp_path=tmp_path)
    assert done.returncode != 0, f"{file} resolved without POSTGRES_PASSWORD: a default leaked"
    assert "POSTGRES_PASSWORD" in done.stderr + done.stdout


@needs_compose
@pytest.mark.parametrize("file", COMPOSE_FILES)
def test_official_image_services(file: str, module_tmp: Path) -> None:
    for name, service in resolved(file, module_tmp)["services"].items():
        if is_board(service):
            continue
        image = service.get("image", "")
        repo = image_repo(image)
        assert repo in OFFICIAL_IMAGES, f"{file}: {name} uses {image!r}, not an official image"
        allowed = OFFICIAL_IMAGES[repo]
        command = argv(service.get("entrypoint")) or argv(service.get("command"))
        if command and not command[0].startswith("-"):  # "-..." = flags to the image's CMD
            assert command[0] in allowed["command"], (
                f"{file}: {name} runs {command[0]!r}, which the {repo} image does not provide"
            )
        check = healthcheck_argv(service)
        if check:
            assert check[0] in allowed["healthcheck"], (
                f"{file}: {name} health check runs {check[0]!r}, absent from {repo}"
            )


@needs_compose
@pytest.mark.parametrize("file", COMPOSE_FILES)
def test_board_services_use_the_repo_image(file: str, module_tmp: Path) -> None:
    model = resolved(file, module_tmp)
    services = model["services"]
    boards = {name: s for name, s in services.items() if is_board(s)}
    assert boards, f"{file}: no service runs the board image"
    for name, service in boards.items():
        build = service.get("build")
        assert build, f"{file}: {name} should build the board image from the repo"
        context = Path(build["context"] if isinstance(build, dict) else build)
        context = context if context.is_absolute() else (COMPOSE_DIR / context)
        assert context.resolve() == REPO, f"{file}: {name} build context is not the repo root"
        dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else ""
        assert (context / dockerfile).resolve() == DOCKERFILE.resolve()
        assert "entrypoint" not in service, (
            f"{file}: {name} overrides the entrypoint, which makes `mobo init` idempotent"
        )
        assert "/data" in {mount_target(v) for v in service.get("volumes", [])}, (
            f"{file}: {name} does not mount the board home at /data"
        )
        redis_url = (service.get("environment") or {}).get("MOBO_REDIS_URL")
        assert redis_url, f"{file}: {name} does not set MOBO_REDIS_URL"
        host = urlsplit(redis_url).hostname
        assert host in services, f"{file}: {name}'s MOBO_REDIS_URL names no service ({host})"
        if healthcheck_argv(service):
            assert healthcheck_argv(service)[0] in BOARD_HEALTHCHECK_BINARIES


@needs_compose
@pytest.mark.parametrize("file", COMPOSE_FILES)
def test_dependencies_wait_on_real_health(file: str, module_tmp: Path) -> None:
    services = resolved(file, module_tmp)["services"]
    image_has_healthcheck = dockerfile_instruction("HEALTHCHECK") not in (None, "NONE")
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {dep: {"condition": "service_started"} for dep in depends}
        for dep, spec in depends.items():
            assert dep in services, f"{file}: {name} depends on unknown service {dep}"
            condition = spec.get("condition")
            target = services[dep]
            if condition == "service_healthy":
                check = healthcheck_argv(target)
                has_check = bool(check) or (
                    check is None and is_board(target) and image_has_healthcheck
                )
                assert has_check, f"{file}: {name} waits for {dep} to be healthy; it has no check"
            elif condition == "service_completed_successfully":
                assert target.get("restart", "no") in {"no", "on-failure"}, (
                    f"{file}: {dep} must be a one-shot for {name} to wait on its completion"
                )
    for needed in ("postgres", "redis"):
        assert needed in services, f"{file}: no {needed} service"
        assert healthcheck_argv(services[needed]), f"{file}: {needed} has no health check"


@needs_compose
def test_single_host_layout(module_tmp: Path) -> None:
    services = resolved(SINGLE, module_tmp)["services"]
    board = services["board"]
    assert board_argv(board)[:3] == ["mobo", "boot", "--foreground"]
    assert any(
        str(p).endswith(":8000")
        or "8000/tcp" in str(p)
        or (isinstance(p, dict) and p.get("target") == 8000)
        for p in board.get("ports", [])
    )
    for dep in ("redis", "postgres"):
        assert board["depends_on"][dep]["condition"] == "service_healthy"


@needs_compose
def test_scale_out_layout(module_tmp: Path) -> None:
    services = resolved(SCALE, module_tmp)["services"]
    init, gateway, worker = services["init"], services["gateway"], services["worker"]
    assert board_argv(init)[:2] == ["mobo", "init"]
    assert board_argv(gateway)[:3] == ["mobo", "run", "gateway"]
    assert board_argv(worker)[:3] == ["mobo", "run", "worker"]
    for name, service in (("gateway", gateway), ("worker", worker)):
        replicas = (service.get("deploy") or {}).get("replicas", service.get("scale", 1))
        assert int(replicas) >= 2, f"{name} should run several replicas"
        assert service["depends_on"]["init"]["condition"] == "service_completed_successfully"
        # Same home volume as init, so every replica reads the same secrets.
        homes = {mount_source(v) for v in service["volumes"] if mount_target(v) == "/data"}
        init_homes = {mount_source(v) for v in init["volumes"] if mount_target(v) == "/data"}
        assert homes and homes == init_homes, f"{name} does not share init's /data volume"
        assert "ports" not in service, f"{name} replicas must not publish host ports"
    env = gateway["environment"]
    assert env["MOBO_GATEWAY_HOST"] == "0.0.0.0"
    assert str(env["MOBO_GATEWAY_PORT"]) == "8000"
    assert init.get("restart", "no") == "no"


@needs_compose
def test_proxy_upstream_names_the_gateway_service(module_tmp: Path) -> None:
    services = resolved(SCALE, module_tmp)["services"]
    proxies = {
        n: s for n, s in services.items() if image_repo(s.get("image", "")) in {"haproxy", "nginx"}
    }
    assert len(proxies) == 1, f"expected one proxy service, found {sorted(proxies)}"
    ((name, proxy),) = proxies.items()
    mounted = [mount_source(v) for v in proxy.get("volumes", [])]
    assert any(Path(m).resolve() == PROXY_CONFIG.resolve() for m in mounted), (
        f"{name} does not mount {PROXY_CONFIG.relative_to(REPO)}"
    )
    assert proxy.get("ports"), f"{name} publishes no port"
    assert healthcheck_argv(proxy), f"{name} has no health check"

    # haproxy: `server NAME HOST:PORT` / `server-template PREFIX N HOST:PORT`.
    upstreams = []
    for line in PROXY_CONFIG.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if words[:1] == ["server"] and len(words) >= 3:
            upstreams.append(words[2])
        elif words[:1] == ["server-template"] and len(words) >= 4:
            upstreams.append(words[3])
    assert upstreams, f"no server lines in {PROXY_CONFIG.name}"
    gateway_port = str(services["gateway"]["environment"]["MOBO_GATEWAY_PORT"])
    for upstream in upstreams:
        host, _, port = upstream.rpartition(":")
        assert host in services, f"{PROXY_CONFIG.name} upstream {host!r} is not a service"
        assert is_board(services[host]) and board_argv(services[host])[:3] == [
            "mobo",
            "run",
            "gateway",
        ], f"{PROXY_CONFIG.name} upstream {host!r} does not run the gateway card"
        assert port == gateway_port, f"upstream port {port} != MOBO_GATEWAY_PORT {gateway_port}"
    assert "/health" in PROXY_CONFIG.read_text(), "the proxy must health-check /health"


@needs_compose
def test_run_commands_name_existing_cards(module_tmp: Path) -> None:
    for where, command in all_board_commands(module_tmp):
        if command[:2] == ["mobo", "run"]:
            assert len(command) >= 3, f"{where}: `mobo run` without a card"
            card = command[2]
            assert (REPO / "components" / card).is_dir(), (
                f"{where}: `mobo run {card}` names no card directory components/{card}"
            )


@needs_compose
def test_mobo_commands_exist_in_the_cli(module_tmp: Path) -> None:
    """Every `mobo SUBCOMMAND --option` the deployment runs exists in the real CLI."""
    try:
        from mobo.cli import main
    except Exception as exc:  # the CLI is missing or broken: that is a failure here
        problem = repr(exc)
    else:
        problem = ""
    if problem:
        pytest.fail(f"cannot import mobo.cli.main to check the compose commands: {problem}")
    assert isinstance(main, click.Group), "mobo.cli.main should be a click Group"
    ctx = click.Context(main)
    names = set(main.commands) | set(main.list_commands(ctx))
    for where, command in all_board_commands(module_tmp):
        assert command and command[0] == "mobo", f"{where}: runs {command}, not the mobo CLI"
        assert len(command) >= 2, f"{where}: bare `mobo`"
        sub = command[1]
        assert sub in names, f"{where}: `mobo {sub}` is not a CLI command (have {sorted(names)})"
        subcommand = main.get_command(ctx, sub)
        options = {
            opt for param in subcommand.params for opt in (*param.opts, *param.secondary_opts)
        }
        for arg in command[2:]:
            if arg.startswith("-"):
                flag = arg.split("=", 1)[0]
                assert flag in options, f"{where}: `mobo {sub}` has no option {flag}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-v"]))
