"""Registry: manifests, boot order, cycles and missing cards fail fast."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mobo.events import EVENT_TYPES
from mobo.exceptions import CircularDependency, ComponentNotFound, ManifestError
from mobo.kernel.provided import provided
from mobo.kernel.registry import Registry
from mobo.manifest import REFERENCE_LISTS, load_manifest


def card(root: Path, name: str, deps: list[str] = (), extra: str = "") -> None:
    folder = root / name
    folder.mkdir(parents=True)
    quoted = ", ".join(f'"{d}"' for d in deps)
    (folder / "manifest.toml").write_text(
        f'name = "{name}"\nversion = "1.0"\ndepends_on = [{quoted}]\n{extra}'
    )


def test_real_cards_boot_redis_first() -> None:
    registry = Registry.discover()
    assert {"redis", "gateway", "worker"} <= set(registry.names)
    order = registry.order()
    assert order.index("redis") < order.index("gateway")
    assert order.index("redis") < order.index("worker")


def test_layers_group_independent_cards(tmp_path: Path) -> None:
    card(tmp_path, "a")
    card(tmp_path, "b", ["a"])
    card(tmp_path, "c", ["a"])
    card(tmp_path, "d", ["b", "c"])
    assert Registry.discover(tmp_path).layers() == [["a"], ["b", "c"], ["d"]]


def test_cycle_is_named(tmp_path: Path) -> None:
    card(tmp_path, "a", ["c"])
    card(tmp_path, "b", ["a"])
    card(tmp_path, "c", ["b"])
    with pytest.raises(CircularDependency) as err:
        Registry.discover(tmp_path).order()
    message = str(err.value)
    assert "a -> c -> b -> a" in message


def test_missing_dependency_names_who_wants_it(tmp_path: Path) -> None:
    card(tmp_path, "a", ["ghost"])
    with pytest.raises(ComponentNotFound) as err:
        Registry.discover(tmp_path).order()
    assert "'ghost'" in str(err.value) and "'a'" in str(err.value)


def test_unknown_card_lists_known_ones(tmp_path: Path) -> None:
    card(tmp_path, "a")
    with pytest.raises(ComponentNotFound) as err:
        Registry.discover(tmp_path).get("nope")
    assert "a" in err.value.hint


def test_dependents_are_transitive(tmp_path: Path) -> None:
    card(tmp_path, "a")
    card(tmp_path, "b", ["a"])
    card(tmp_path, "c", ["b"])
    assert Registry.discover(tmp_path).dependents("a") == ["b", "c"]


def test_manifest_name_must_match_folder(tmp_path: Path) -> None:
    card(tmp_path, "a")
    (tmp_path / "a" / "manifest.toml").write_text('name = "b"\nversion = "1"\n')
    with pytest.raises(ManifestError, match="must match its folder"):
        load_manifest(tmp_path / "a" / "manifest.toml")


def test_manifest_unknown_provides_key(tmp_path: Path) -> None:
    card(tmp_path, "a", extra="[provides]\nprogramme = true\n")
    with pytest.raises(ManifestError, match="programme"):
        load_manifest(tmp_path / "a" / "manifest.toml")


def test_manifest_provides_is_parsed(tmp_path: Path) -> None:
    provides = (
        '[provides]\nprogram = true\nroutes = ["a.routes:mount"]\n'
        '[provides.bus_handlers]\n"data.*" = "a.handlers:on_data"\n'
    )
    card(tmp_path, "a", extra='after = ["b"]\n' + provides)
    manifest = load_manifest(tmp_path / "a" / "manifest.toml")
    assert manifest.provides.program
    assert manifest.provides.routes == ("a.routes:mount",)
    assert manifest.provides.bus_handlers == (("data.*", "a.handlers:on_data"),)
    assert manifest.after == ("b",)


def test_a_cards_event_types_are_registered_when_its_manifest_loads(tmp_path: Path) -> None:
    card(tmp_path, "a", extra='[events]\n"thing.happened" = "A thing happened; data: id."\n')
    assert "thing.happened" not in EVENT_TYPES
    try:
        Registry.discover(tmp_path)
        assert EVENT_TYPES["thing.happened"] == "A thing happened; data: id."
    finally:
        EVENT_TYPES.pop("thing.happened", None)


def test_a_bad_event_type_names_the_manifest(tmp_path: Path) -> None:
    card(tmp_path, "a", extra='[events]\n"Thing" = "no dots"\n')
    with pytest.raises(ManifestError, match="dotted lowercase"):
        Registry.discover(tmp_path)


def test_hooks_are_module_function_references(tmp_path: Path) -> None:
    card(tmp_path, "a", extra='[provides]\nstatus = "a.status:summary"\n')
    card(tmp_path, "b", extra='[provides]\nsecrets = "not a reference"\n')
    assert load_manifest(tmp_path / "a" / "manifest.toml").provides.hooks == {
        "status": "a.status:summary"
    }
    with pytest.raises(ManifestError, match="module:function"):
        load_manifest(tmp_path / "b" / "manifest.toml")


def test_config_sections_are_claimed_in_the_manifest(tmp_path: Path) -> None:
    card(tmp_path, "a")
    card(tmp_path, "b", extra='config_sections = ["b", "b_limits"]\n')
    assert load_manifest(tmp_path / "a" / "manifest.toml").config_sections == ()
    assert load_manifest(tmp_path / "b" / "manifest.toml").config_sections == ("b", "b_limits")


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ('routes = ["/x"]', "must be a `module:function` reference"),
        ('jobs = ["a.jobs.run"]', "must be a `module:function` reference"),
        ('cli = ["components.auth.cli:COMMANDS"]', "outside the card's package"),
    ],
)
def test_manifest_reference_must_be_the_cards_own(
    tmp_path: Path, entry: str, complaint: str
) -> None:
    card(tmp_path, "a", extra=f"[provides]\n{entry}\n")
    with pytest.raises(ManifestError, match=complaint):
        load_manifest(tmp_path / "a" / "manifest.toml")


def test_unresolvable_reference_is_a_manifest_error(tmp_path: Path) -> None:
    """A reference to a missing module or attribute names the card, key and reference."""
    card(tmp_path, "ghostly", extra='[provides]\nroutes = ["ghostly.routes:mount"]\n')
    (tmp_path / "ghostly" / "__init__.py").write_text("")
    (tmp_path / "ghostly" / "routes.py").write_text("def other(): ...\n")
    registry = Registry.discover(tmp_path)
    with pytest.raises(ManifestError) as err:
        provided(registry, ["ghostly"], "routes")
    message = str(err.value)
    assert "card ghostly" in message and "provides.routes" in message
    assert "'ghostly.routes:mount'" in message and "no 'mount'" in message
    sys.modules.pop("ghostly.routes", None)
    sys.modules.pop("ghostly", None)


def test_a_resolved_reference_is_the_object(tmp_path: Path) -> None:
    card(tmp_path, "lamp", extra='[provides]\nroutes = ["lamp.routes:MOUNTS.first"]\n')
    (tmp_path / "lamp" / "__init__.py").write_text("")
    (tmp_path / "lamp" / "routes.py").write_text("class MOUNTS:\n    first = 42\n")
    [found] = provided(Registry.discover(tmp_path), ["lamp"], "routes")
    assert (found.card, found.ref, found.target) == ("lamp", "lamp.routes:MOUNTS.first", 42)
    sys.modules.pop("lamp.routes", None)
    sys.modules.pop("lamp", None)


def test_after_orders_only_when_both_are_present(tmp_path: Path) -> None:
    card(tmp_path, "a", extra='after = ["b"]\n')
    card(tmp_path, "b")
    card(tmp_path, "c", extra='after = ["ghost"]\n')  # absent: no requirement
    registry = Registry.discover(tmp_path)
    assert registry.layers() == [["b", "c"], ["a"]]
    assert registry.order(["a"]) == ["a"]  # `after` pulls nothing in
    assert registry.order(["c"]) == ["c"]


def test_after_cycles_are_named(tmp_path: Path) -> None:
    card(tmp_path, "a", ["b"])
    card(tmp_path, "b", extra='after = ["a"]\n')
    with pytest.raises(CircularDependency, match="a -> b -> a"):
        Registry.discover(tmp_path).order()


def test_plugged_is_boot_order_without_the_unplugged(tmp_path: Path) -> None:
    card(tmp_path, "a")
    card(tmp_path, "b", ["a"])
    card(tmp_path, "c", extra='after = ["b"]\n')
    assert Registry.discover(tmp_path).plugged(["b"]) == ["a", "c"]
    assert Registry.discover(tmp_path).plugged([]) == ["a", "b", "c"]


@pytest.mark.parametrize("key", [*REFERENCE_LISTS, "bus_handlers"])
def test_every_real_cards_references_resolve(key: str) -> None:
    """No manifest names something that is not there."""
    registry = Registry.discover()
    assert provided(registry, registry.names, key) is not None


def test_consumers_are_the_plugged_cards_that_name_the_facility(tmp_path: Path) -> None:
    card(tmp_path, "feed")
    card(tmp_path, "reader", extra='consumes = ["feed.changes"]\n')
    card(tmp_path, "other", extra='consumes = ["feed.other"]\n')
    registry = Registry.discover(tmp_path)
    assert registry.consumers("feed.changes") == ["reader"]
    assert registry.consumers("feed.changes", unplugged=["reader"]) == []


def test_init_config_is_a_hook(tmp_path: Path) -> None:
    card(tmp_path, "a", extra='[provides]\ninit_config = "a.initial:section"\n')
    manifest = load_manifest(tmp_path / "a" / "manifest.toml")
    assert manifest.provides.hooks == {"init_config": "a.initial:section"}
