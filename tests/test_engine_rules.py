"""The offline plan refuses what a real `pulumi up` refuses: duplicate URNs, names a cloud rejects or
holds twice, stack files the engine cannot read, placeholders and unset secrets in a real run."""

import json
import shutil
import subprocess
import sys

import pulumi
import pulumi_docker as docker
import pytest

from infra import config, mocks
from infra.config import ROOT
from infra.engine import EngineError, engine_urn
from infra.errors import ConfigError
from tests.conftest import base_config

FOUR_SERVICES = {
    "api": {"kind": "web"}, "admin": {"kind": "web"},
    "jobs": {"kind": "worker", "command": ["python", "-m", "app", "worker"]}, "mailer": {"kind": "worker"},
}


# ------------------------------------------------------------------------------------------------
# URNs


def test_engine_urn_keeps_the_whole_parent_type_chain_and_drops_the_stack():
    stack = engine_urn("s", "p", "", "pulumi:pulumi:Stack", "p-s")
    comp = engine_urn("s", "p", stack, "berth:a:Outer", "outer")
    inner = engine_urn("s", "p", comp, "berth:a:Inner", "inner")
    leaf = engine_urn("s", "p", inner, "aws:s3/bucket:Bucket", "b")
    assert comp == "urn:pulumi:s::p::berth:a:Outer::outer"
    assert leaf == "urn:pulumi:s::p::berth:a:Outer$berth:a:Inner$aws:s3/bucket:Bucket::b"


class _Box(pulumi.ComponentResource):
    def __init__(self, name):
        super().__init__("berth:test:Box", name)
        docker.Network("net", name=f"box-{name}", opts=pulumi.ResourceOptions(parent=self))


def test_two_children_with_one_urn_fail_the_plan_with_both_declarations_named():
    def program():
        _Box("first")
        _Box("second")

    with pytest.raises(EngineError) as info:
        mocks.run_program("dup", {}, program)
    message = str(info.value)
    assert "duplicate URN urn:pulumi:dup::berth::berth:test:Box$docker:index/network:Network::net" in message
    assert "Box 'first'" in message and "Box 'second'" in message
    assert len(info.value.records) == 4  # recorded, then refused as the engine would


def test_the_same_components_with_children_named_after_their_parent_plan():
    class Named(pulumi.ComponentResource):
        def __init__(self, name):
            super().__init__("berth:test:Box", name)
            docker.Network(f"{name}-net", name=f"box-{name}", opts=pulumi.ResourceOptions(parent=self))

    run = mocks.run_program("ok", {}, lambda: (Named("first"), Named("second")))
    assert len({r.urn for r in run.records}) == len(run.records) == 4


@pytest.mark.parametrize("target", ["docker", "aws"])
def test_prod_stack_with_two_web_services_and_two_workers_plans_with_unique_urns(target):
    cfg = mocks.read_stack_config("prod") if target == "aws" else base_config(tier="prod")
    cfg = {**cfg, "berth:services": FOUR_SERVICES}
    run = mocks.run_program("prod", cfg)
    urns = [r.urn for r in run.records]
    assert len(set(urns)) == len(urns)
    # Every service got its own component, and each component its own children.
    components = {r.name for r in run.records if not r.custom and r.name in FOUR_SERVICES}
    assert components == set(FOUR_SERVICES)
    for name in FOUR_SERVICES:
        assert [r for r in run.records if r.parent.endswith(f"::{name}") and r.custom], name


# ------------------------------------------------------------------------------------------------
# Physical names


def test_a_name_the_cloud_rejects_fails_the_plan():
    import pulumi_aws as aws

    def program():
        aws.lb.TargetGroup("tg", name="a" * 33, port=80, protocol="HTTP", vpc_id="vpc-1")

    with pytest.raises(EngineError) as info:
        mocks.run_program("names", {"berth:target": "aws"}, program)
    assert "aws:lb/targetGroup:TargetGroup 'tg': name 'aaaa" in str(info.value)
    assert "33 chars, at most 32" in str(info.value)


def test_two_resources_with_one_physical_name_fail_the_plan():
    def program():
        docker.Network("one", name="same")
        docker.Network("two", name="same")

    with pytest.raises(EngineError) as info:
        mocks.run_program("names", {"berth:target": "docker"}, program)
    assert "physical name 'same' is used by 'one' (the stack) and 'two' (the stack)" in str(info.value)


def test_plan_cli_exits_4_when_the_engine_would_refuse(tmp_path, monkeypatch):
    from infra.__main__ import main

    def refused(stack, root=ROOT):
        raise EngineError(stack, [])

    monkeypatch.setattr(mocks, "run_stack", refused)
    assert main(["plan", "--stack", "local"]) == 4


# ------------------------------------------------------------------------------------------------
# Stack files the engine cannot read


def _stack(tmp_path, text):
    (tmp_path / "Pulumi.s.yaml").write_text(text)
    return tmp_path


def test_secure_value_without_salt_is_refused_naming_the_key(tmp_path):
    root = _stack(tmp_path, "config:\n  berth:target: docker\n  berth:tier: dev\n"
                            "  berth:secrets: [OPENAI_API_KEY]\n  berth:OPENAI_API_KEY:\n    secure: AAAB\n")
    with pytest.raises(ConfigError) as info:
        mocks.read_stack_config("s", root)
    assert "berth:OPENAI_API_KEY:" in str(info.value) and "encryptionsalt" in str(info.value)


def test_key_given_twice_is_refused_naming_it_and_both_lines(tmp_path):
    root = _stack(tmp_path, "config:\n  berth:target: docker\n  berth:tier: dev\n  berth:services:\n"
                            "    api:\n      kind: web\n      kind: worker\n")
    with pytest.raises(ConfigError) as info:
        mocks.read_stack_config("s", root)
    line = str(info.value).splitlines()[1]
    assert line.strip().startswith("berth:kind:") and "'kind' twice, at lines 6 and 7" in line


def test_shipped_stack_files_carry_no_ciphertext():
    for stack in mocks.shipped_stacks():
        text = mocks.stack_file(stack).read_text()
        assert "secure:" not in text, stack
        mocks.read_stack_config(stack)  # and the strict reader accepts each


# ------------------------------------------------------------------------------------------------
# Unset secrets and placeholders: noticed offline, refused by a real run


def _values(cfg):
    runtime_values, secret_keys = mocks.runtime_config(cfg)
    return {k.split(":", 1)[1]: v for k, v in runtime_values.items() if k.startswith("berth:")}, set(secret_keys)


def test_unset_secret_is_a_masked_placeholder_offline_and_one_line_in_a_real_run():
    cfg = base_config(secrets=["GEMINI_API_KEY"])
    run = mocks.run_program("s", cfg)
    assert any("berth:GEMINI_API_KEY: not set" in n and "pulumi config set --secret GEMINI_API_KEY" in n
               for n in run.notices)
    envs = run.one("docker:index/container:Container", "api").inputs["envs"]
    assert mocks.is_secret(envs) and any(e.startswith("GEMINI_API_KEY=") for e in mocks.unwrap(envs))

    values, secret_keys = _values(cfg)
    with pytest.raises(ConfigError) as info:
        config.build_spec(values, secret_keys, project="berth", stack="s", offline=False)
    lines = str(info.value).splitlines()
    assert len(lines) == 2 and "berth:GEMINI_API_KEY:" in lines[1]
    assert "pulumi config set --secret GEMINI_API_KEY <value>" in lines[1]


PLACEHOLDERS = [
    ({"domain": "api.example.com", "services": {"api": {"kind": "web"}}}, "berth:domain:"),
    ({"domain": "api.acme.test"}, "berth:domain:"),
    ({"alerts": {"email": "oncall@example.org"}}, "berth:alerts.email:"),
    ({"alerts": {"email": "ops@corp.invalid"}}, "berth:alerts.email:"),
]


@pytest.mark.parametrize("overrides, key", PLACEHOLDERS)
def test_placeholder_values_warn_offline_and_are_refused_by_a_real_run(overrides, key):
    cfg = base_config(**overrides)
    run = mocks.run_program("s", cfg)
    assert [n for n in run.notices if n.startswith(key)]
    values, secret_keys = _values(cfg)
    with pytest.raises(ConfigError) as info:
        config.build_spec(values, secret_keys, project="berth", stack="s", offline=False)
    assert [l for l in str(info.value).splitlines() if key in l]


def test_placeholder_zone_id_is_refused_by_a_real_run_of_the_shipped_prod_stack():
    values, secret_keys = _values({**mocks.read_stack_config("prod"), "berth:OPENAI_API_KEY": {"secure": "x"}})
    with pytest.raises(ConfigError) as info:
        config.build_spec(values, secret_keys, project="berth", stack="prod", offline=False)
    keys = {l.strip().split(":", 2)[1] for l in str(info.value).splitlines()[1:]}
    assert {"domain", "alerts.email", "aws.zone_id"} <= keys


@pytest.mark.parametrize("stack, keys", [
    ("prod", {"domain", "alerts.email", "aws.zone_id", "OPENAI_API_KEY"}),
    ("gcp-prod", {"domain", "alerts.email", "gcp:project"}),
    ("k8s-prod", {"domain", "alerts.email", "kubernetes.registry", "kubernetes.backup_destination"}),
    ("k8s-dev", set()),  # berth.localhost is this machine, which a kind cluster stack means
])
def test_shipped_stacks_name_every_example_value_a_real_run_would_refuse(stack, keys):
    run = mocks.run_stack(stack)
    noticed = {n.split(": ", 1)[0].removeprefix("berth:") for n in run.notices}
    assert noticed == keys


def test_a_real_domain_and_mailbox_plan_without_notice():
    run = mocks.run_program("s", base_config(domain="api.acme.dev", alerts={"email": "oncall@acme.dev"}))
    assert run.notices == []


def test_the_plan_prints_its_warnings(capsys):
    from infra.__main__ import main

    assert main(["plan", "--stack", "prod"]) == 0
    out = capsys.readouterr().out
    warnings = out.split("Warnings (a real `pulumi up` refuses these):", 1)[1]
    assert "berth:OPENAI_API_KEY: not set" in warnings and "berth:domain:" in warnings


# ------------------------------------------------------------------------------------------------
# Reproducible plans


def test_the_same_stack_planned_from_two_checkouts_gives_the_same_json(tmp_path):
    plans = []
    for where in ("one", "elsewhere/two"):
        copy = tmp_path / where
        for item in ("infra", "components", "stacks", "app", "policies"):
            shutil.copytree(ROOT / item, copy / item,
                            ignore=shutil.ignore_patterns("__pycache__", ".venv", ".pytest_cache"))
        for stack_file in ROOT.glob("Pulumi*.yaml"):
            shutil.copy(stack_file, copy / stack_file.name)
        out = copy / "plan.json"
        result = subprocess.run([sys.executable, "-m", "infra", "plan", "--stack", "local", "--json", str(out)],
                                cwd=copy, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        plans.append(out.read_text())
    assert plans[0] == plans[1]
    assert str(tmp_path) not in plans[0] and str(ROOT) not in plans[0]
