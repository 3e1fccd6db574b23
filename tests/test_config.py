"""Stack config over its tier → ServiceSpec; bad config fails with one clear message and no resource."""

import pytest

from infra import config, mocks
from infra.errors import ConfigError
from tests.conftest import base_config


def spec_of(**overrides):
    cfg = base_config(**overrides)
    runtime_values, secret_keys = mocks.runtime_config(cfg)
    values = {k.split(":", 1)[1]: v for k, v in runtime_values.items()}
    return config.build_spec(values, set(secret_keys), project="berth", stack="t")


def test_prod_tier_defaults_arrive_in_the_spec():
    spec = spec_of(tier="prod")
    api = spec.services["api"]
    assert (api.kind, api.port, api.cpu, api.memory) == ("web", 8000, 1.0, 2048)
    assert (api.scaling.min, api.scaling.max, api.scaling.cpu_target) == (2, 10, 70)
    assert spec.database.ha and spec.database.deletion_protection and spec.database.final_snapshot
    assert spec.database.backup_days >= 7 and spec.cache.ha and spec.log_retention_days == 90
    assert spec.edge.access_logs is True and spec.alerts.error_rate_percent == 10
    dev = spec_of(tier="dev")
    assert not dev.database.ha and not dev.database.deletion_protection and dev.database.backup_days == 1
    assert dev.services["api"].scaling.min == 1


def test_prod_tier_defaults_arrive_in_the_declared_resources():
    run = mocks.run_program("prodlike", base_config(tier="prod"))
    api = run.one("docker:index/container:Container", "api")
    assert int(api.inputs["memory"]) == 2048 and int(api.inputs["cpuShares"]) == 1024
    envs = mocks.unwrap(api.inputs["envs"])
    assert "ENVIRONMENT=production" in envs


def test_stack_overrides_one_key_and_keeps_the_rest_of_the_tier():
    spec = spec_of(tier="prod", services={"api": {"kind": "web", "scaling": {"max": 4}},
                                          "jobs": {"kind": "worker", "command": ["python", "-m", "app", "worker"]}})
    assert spec.services["api"].scaling.max == 4 and spec.services["api"].scaling.min == 2
    assert spec.services["jobs"].port is None and spec.services["jobs"].memory == 2048
    assert [s.name for s in spec.workers] == ["jobs"]


def test_secret_values_come_from_secret_config_and_secret_key_is_always_there():
    spec = spec_of(secrets=["OPENAI_API_KEY"], OPENAI_API_KEY={"secure": "v1:abc"})
    assert spec.secrets == ("SECRET_KEY", "OPENAI_API_KEY")
    run = mocks.run_program("s", base_config(secrets=["OPENAI_API_KEY"], OPENAI_API_KEY={"secure": "v1:abc"}))
    envs = run.one("docker:index/container:Container", "api").inputs["envs"]
    assert mocks.is_secret(envs)
    value = next(e for e in mocks.unwrap(envs) if e.startswith("OPENAI_API_KEY="))
    assert value.startswith("OPENAI_API_KEY=mock-secret-openai_api_key-")
    # A secret given for SECRET_KEY replaces the generated one: no RandomPassword for it.
    run = mocks.run_program("s2", base_config(SECRET_KEY={"secure": "v1:def"}))
    assert "secret-key" not in {r.name for r in run.by_type("random:index/randomPassword:RandomPassword")}


# Each bad config: (overrides, key path, fragment of what was expected, fragment of what was found)
BAD = {
    "unknown top-level key": ({"replicas": 3}, "berth:replicas:", "a known key", "unknown key 'replicas'"),
    "unknown nested key": ({"services": {"api": {"kind": "web", "cpus": 2}}}, "berth:services.api.cpus:", "one of the keys kind, command, port, cpu, memory", "unknown key 'cpus'"),
    "wrong type": ({"services": {"api": {"kind": "web", "memory": "lots"}}}, "berth:services.api.memory:", "an integer", '"lots"'),
    "min above max": ({"services": {"api": {"kind": "web", "scaling": {"min": 5, "max": 2}}}}, "berth:services.api.scaling:", "min ≤ max", "min=5, max=2"),
    "unknown target": ({"target": "heroku"}, "berth:target:", "one of docker, aws", '"heroku"'),
    "unknown tier": ({"tier": "staging"}, "berth:tier:", "one of dev, prod", '"staging"'),
    "no target": ({"target": None}, "berth:target:", "one of docker", "nothing"),
    "secret in plain text": ({"secrets": ["OPENAI_API_KEY"], "OPENAI_API_KEY": "sk-live-123"}, "berth:OPENAI_API_KEY:", "a secret (pulumi config set --secret", "plain text"),
    "credential in plain env": ({"env": {"OPENAI_API_KEY": "sk-live-123"}}, "berth:env.OPENAI_API_KEY:", "a secret (list OPENAI_API_KEY in berth:secrets", "a plain-text value"),
    "password in a service's env": ({"services": {"api": {"kind": "web", "env": {"DB_PASSWORD": "hunter2"}}}}, "berth:services.api.env.DB_PASSWORD:", "a secret", "a plain-text value"),
    "secret value not listed": ({"OPENAI_API_KY": {"secure": "x"}}, "berth:OPENAI_API_KY:", "listed in berth:secrets", "unlisted secret"),
    "berth-built secret listed": ({"secrets": ["DATABASE_URL"]}, "berth:secrets[0]:", "berth builds it", '"DATABASE_URL"'),
    "image by tag": ({"image": {"ref": "ghcr.io/acme/api:latest"}}, "berth:image:", "pinned by digest", "ghcr.io/acme/api:latest"),
    "image build and ref": ({"image": {"build": "app", "ref": "x@sha256:" + "a" * 64}}, "berth:image:", "exactly one of build or ref", "build='app'"),
    "worker with a port": ({"services": {"jobs": {"kind": "worker", "port": 9000}}}, "berth:services.jobs:", "no port on a worker", "port=9000"),
    "unknown service kind": ({"services": {"api": {"kind": "cron"}}}, "berth:services.api.kind:", "one of 'web' or 'worker'", '"cron"'),
    "probe timeout beyond period": ({"service_defaults": {"probes": {"liveness": {"timeout_seconds": 30}}}}, "berth:services.api.probes.liveness:", "timeout_seconds ≤ period_seconds", "timeout_seconds=30"),
    "probe path not a path": ({"services": {"api": {"kind": "web", "probes": {"readiness": {"path": "readiness"}}}}}, "berth:services.api.probes.readiness.path:", "a string matching", '"readiness"'),
    "bad alert email": ({"alerts": {"email": "ops-at-example"}}, "berth:alerts.email:", "an email address", "ops-at-example"),
    "bad domain": ({"domain": "https://api.example.com/"}, "berth:domain:", "a DNS name", "https://api.example.com/"),
    "reserved env": ({"env": {"PORT": "9000"}}, "berth:env.PORT:", "a name berth does not set itself", '"PORT"'),
    "backups beyond 35 days": ({"database": {"backup_days": 40}}, "berth:database.backup_days:", "a number ≤ 35", "40"),
    "storage ceiling below size": ({"database": {"storage_gb": 100}}, "berth:database:", "max_storage_gb ≥ storage_gb", "max_storage_gb=20, storage_gb=100"),
    "services not a mapping": ({"services": ["api"]}, "berth:services:", "a mapping of service name", '["api"]'),
    "another target's section": ({"aws": {"zones": 3}}, "berth:aws:", "settings only for this stack's target (docker)", "a section for target 'aws'"),
    "bad service name": ({"services": {"API_v2": {"kind": "web"}}}, "berth:services.API_v2.name:", "a string matching", '"API_v2"'),
    "bad host port": ({"docker": {"host_port": 80}}, "berth:docker.host_port:", "a number ≥ 1024", "80"),
    "bool as text": ({"database": {"ha": "maybe"}}, "berth:database.ha:", "true or false", '"maybe"'),
    "secret nested in a map": ({"env": {"LOG_LEVEL": "info", "SIGNING_SALT": {"secure": "v1:abc"}}}, "berth:env:", "plain values", "a secret value inside berth:env"),
    "key-like env name": ({"env": {"STRIPE_KEY": "sk_live_1"}}, "berth:env.STRIPE_KEY:", "a secret (list STRIPE_KEY", "a plain-text value"),
    "salt in a service's env": ({"services": {"api": {"kind": "web", "env": {"SIGNING_SALT": "x"}}}}, "berth:services.api.env.SIGNING_SALT:", "a secret", "a plain-text value"),
    "no services": ({"services": {}}, "berth:services:", "at least one service", "{}"),
    "domain without a web service": ({"services": {"jobs": {"kind": "worker"}}, "domain": "api.acme.dev"}, "berth:domain:", "a web service to serve it", "api.acme.dev"),
    "service named like berth's own": ({"services": {"api": {"kind": "web"}, "migrate": {"kind": "worker"}}}, "berth:services.migrate:", "a service name other than", '"migrate"'),
    "double hyphen in a service name": ({"services": {"my--api": {"kind": "web"}}}, "berth:services.my--api.name:", "a string matching", '"my--api"'),
    "stack name too long": ({}, "berth:stack:", "≤ 27 chars", "berth-"),
    "production without a cache": ({"tier": "prod", "cache": {"enabled": False}}, "berth:cache.enabled:", "true on a prod-tier stack", "false"),
}


# Cases about the stack itself rather than its config.
STACK_FOR = {"stack name too long": "a-stack-name-of-22-chr"}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_config_names_key_expected_and_found_and_declares_nothing(case):
    overrides, path, expected, found = BAD[case]
    with pytest.raises(ConfigError) as info:
        mocks.run_program(STACK_FOR.get(case, "bad"), base_config(**overrides))
    message = str(info.value)
    line = next((l for l in message.splitlines() if path in l), None)
    assert line is not None, message
    assert f"expected {expected}" in line or expected in line, line
    assert found in line, line
    assert len(message.splitlines()) == 2, f"one problem, one line: {message}"
    assert info.value.records == [], "a bad config declares no resource"


def test_bad_configs_have_distinct_messages():
    messages = set()
    for overrides, *_ in BAD.values():
        with pytest.raises(ConfigError) as info:
            mocks.run_program("bad-" + "x" * 30, base_config(**overrides)) if not overrides else \
                mocks.run_program("bad", base_config(**overrides))
        messages.add(str(info.value))
    assert len(messages) == len(BAD) >= 15


def test_several_problems_are_reported_together():
    with pytest.raises(ConfigError) as info:
        mocks.run_program("bad", base_config(domain="not a domain", alerts={"email": "nope"}))
    lines = str(info.value).splitlines()
    assert lines[0] == "stack 'bad' has an invalid config:"
    assert any("berth:domain:" in l for l in lines) and any("berth:alerts.email:" in l for l in lines)
