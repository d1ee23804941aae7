import re
import sys
from pathlib import Path

import pytest

from antispoof._registry import ALL_REGISTRIES, Registry, load_all

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "antispoof"


def make() -> Registry:
    reg: Registry = Registry("widgets")

    @reg.register()
    def resnet_like(width: int = 1) -> tuple[str, int]:
        return ("resnet_like", width)

    @reg.register("mobile_small")
    class Mobile:
        def __init__(self, depth: int = 2) -> None:
            self.depth = depth

    return reg


def test_register_get_create_list():
    reg = make()
    assert reg.list() == ["mobile_small", "resnet_like"]
    assert reg.list("res*") == ["resnet_like"]
    assert reg.create("resnet_like", width=3) == ("resnet_like", 3)
    assert reg.create("mobile_small", depth=5).depth == 5
    assert "mobile_small" in reg and "nope" not in reg
    assert len(reg) == 2 and list(reg) == ["mobile_small", "resnet_like"]


def test_duplicate_name_is_an_error():
    reg = make()
    with pytest.raises(ValueError, match="already has an entry named 'resnet_like'"):
        reg.register("resnet_like")(lambda: None)


def test_unknown_name_lists_close_matches_and_all_names():
    reg = make()
    with pytest.raises(KeyError) as info:
        reg.get("resnet_lik")
    message = info.value.args[0]
    assert "unknown widget 'resnet_lik'" in message
    assert "did you mean 'resnet_like'" in message
    assert "Registered widgets: mobile_small, resnet_like" in message
    assert "antispoof list widgets" in message


def test_unknown_name_without_close_match_still_lists_names():
    with pytest.raises(KeyError, match="Registered widgets: mobile_small, resnet_like") as info:
        make().get("zzzz")
    assert "did you mean" not in info.value.args[0]


def test_project_registries_load():
    registries = load_all()
    assert set(registries) == {"methods", "networks", "backbones", "datasets", "detectors", "losses"}
    assert registries is ALL_REGISTRIES
    assert all(len(r) for r in registries.values())
    with pytest.raises(KeyError, match="choose among methods"):
        load_all("widgets")


def test_every_module_that_registers_is_imported_by_its_package():
    """One way to fill a registry: the decorator in a module the family's package ``__init__`` imports."""
    load_all()
    for kind, registry in ALL_REGISTRIES.items():
        assert registry.package, f"the {kind} registry names no package"
        folder = PACKAGE.joinpath(*registry.package.split(".")[1:])
        for f in sorted(folder.rglob("*.py")):
            if re.search(rf"^\s*@?{kind.upper()}\.register\(", f.read_text(encoding="utf-8"), re.MULTILINE):
                module = ".".join(f.relative_to(PACKAGE.parent).with_suffix("").parts)
                assert module in sys.modules, f"{module} registers {kind} but {registry.package} does not import it"
