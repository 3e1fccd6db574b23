"""What every target owes the spine, checked once for all of them."""

import pytest

from infra import mocks, targets
from infra.config import ROOT, load_tier, tiers
from infra.errors import ConfigError
from tests.test_properties import HOOKS

DOCUMENTED = [t for t in targets.TARGETS if (ROOT / "docs" / "targets" / f"{t}.md").exists()]


@pytest.mark.parametrize("target", DOCUMENTED)
def test_every_setting_is_documented_and_given_by_every_tier(target):
    settings = targets.load(target).Settings
    doc = (ROOT / "docs" / "targets" / f"{target}.md").read_text()
    optional = {name for name, f in settings.model_fields.items() if not f.is_required()}
    for name in settings.model_fields:
        assert f"| `{name}` |" in doc, name
    for tier in tiers():
        section = load_tier(tier).get(target) or {}
        assert set(section) | optional == set(settings.model_fields), tier
        settings.model_validate(section)


@pytest.mark.parametrize("target", sorted(HOOKS))
def test_a_stack_name_no_cloud_can_use_is_refused_before_any_resource(target):
    config = {"berth:target": target, "berth:tier": "dev", **HOOKS[target].stack_config("dev")}
    with pytest.raises(ConfigError) as info:
        mocks.run_program("Feature_X", config)
    assert [p.path for p in info.value.problems] == ["stack"]
    assert info.value.problems[0].found == "berth-Feature_X" and info.value.records == []
