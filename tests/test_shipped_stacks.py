"""Every shipped Pulumi.<stack>.yaml plans offline, and nothing secret leaks from any of them."""

import json

import pytest

from infra import mocks
from infra.check import secret_values
from infra.plan import as_json


@pytest.fixture(scope="module", params=mocks.shipped_stacks())
def shipped(request):
    return mocks.run_stack(request.param)


def test_shipped_stack_plans_and_declares_resources(shipped):
    assert len([r for r in shipped.records if r.custom]) >= 10
    assert shipped.outputs.get("url")


def test_no_secret_reaches_the_plan_json_or_the_outputs(shipped):
    plan = json.dumps(as_json(shipped))
    outputs = json.dumps(shipped.outputs, default=str)
    used = json.dumps([mocks.unwrap(r.inputs) for r in shipped.records], default=str)
    secrets = set(secret_values(shipped).values())
    assert secrets, "every stack has at least SECRET_KEY and the database password"
    for value in secrets:
        assert value in used, f"the program never used {value[:12]}…: the check would prove nothing"
        assert value not in plan, f"secret value in the {shipped.stack} plan"
        assert value not in outputs, f"secret value in the {shipped.stack} outputs"
    assert shipped.secret_outputs == []


def test_every_component_child_names_its_parent(shipped):
    components = {r.urn for r in shipped.records if not r.custom}
    for record in shipped.records:
        if record.custom and "$berth:" in record.urn:
            assert record.parent in components, record.urn
