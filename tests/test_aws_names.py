"""Physical names on aws: AWS's rules (components/aws/names.py) hold for the longest stack and
service names config accepts, with two web services and two workers whose names differ only at
the end; and each rule refuses what AWS refuses."""

from __future__ import annotations

import re

import pytest

from components.aws.names import PHYSICAL_NAMES, UNIQUE_SUFFIX
from infra.engine import NameRule, physical_name_problems
from infra.mocks import PROJECT, Record, read_stack_config, run_program

# The longest prefix config accepts is 27 characters: "berth-" and a 21-character stack name.
STACK = "production-eu-west-1a"
PREFIX = f"{PROJECT}-{STACK}"
# 24 characters each, alike but for the last one or two: a cut name would collide.
WEB = ("checkout-api-public-eu01", "checkout-api-public-eu02")
WORKERS = ("checkout-worker-emails-1", "checkout-worker-emails-2")


def longest(tier: str) -> dict:
    config = read_stack_config(tier)
    config["berth:services"] = {
        **{name: {"kind": "web"} for name in WEB},
        **{name: {"kind": "worker", "command": ["python", "-m", "app", "worker"]} for name in WORKERS},
    }
    # Everything a tier can turn on, so every named resource is there to check.
    config["berth:edge"] = {"access_logs": True}
    config["berth:aws"] = {**config.get("berth:aws", {}), "flow_logs": True, "waf_logs": True}
    return config


@pytest.fixture(scope="module", params=["dev", "prod"])
def run(request):
    # Plans at all: run_program raises EngineError on a name AWS refuses or two that collide.
    return run_program(STACK, longest(request.param))


def test_the_names_really_are_the_longest_accepted():
    assert len(PREFIX) == 27
    assert {len(n) for n in WEB + WORKERS} == {24}


def names(run, typ: str, rule: NameRule) -> list[str]:
    return [rec.inputs[rule.path] for rec in run.by_type(typ) if rule.path in rec.inputs]


@pytest.mark.parametrize("typ", sorted(PHYSICAL_NAMES))
def test_every_rule_holds_on_the_recorded_names(run, typ):
    rule = PHYSICAL_NAMES[typ]
    found = names(run, typ, rule)
    if typ == "aws:lb/targetGroup:TargetGroup":
        # Auto-named by Pulumi: the logical name and its 8-character suffix within ELB's limit.
        groups = run.by_type(typ)
        assert found == [] and sorted(g.name for g in groups) == sorted(WEB)
        assert all(len(g.name) + 8 <= rule.max_len for g in groups)
        return
    assert found, f"no {typ} recorded: the rule is not exercised"
    for name in found:
        assert len(name) + rule.suffix_len <= rule.max_len, (typ, name)
        assert re.fullmatch(rule.pattern, name), (typ, name)
    if not rule.suffix_len and not rule.unique_within:
        assert len(set(found)) == len(found), (typ, found)


def test_per_service_names_stay_apart(run):
    services = {r.inputs["name"] for r in run.by_type("aws:ecs/service:Service")}
    assert services == {f"{PREFIX}-{n}" for n in WEB + WORKERS}
    logs = {r.inputs["name"] for r in run.by_type("aws:cloudwatch/logGroup:LogGroup")}
    assert {f"/berth/{PREFIX}/{n}" for n in WEB + WORKERS} <= logs
    alarms = [r.inputs["name"] for r in run.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")]
    assert len(alarms) == len(set(alarms)) and f"{PREFIX}-{WORKERS[1]}-no-tasks" in alarms


def test_iam_roles_are_prefixes_within_iam_limits(run):
    roles = run.by_type("aws:iam/role:Role")
    assert len(roles) >= 2 * len(WEB + WORKERS)
    for role in roles:
        assert "name" not in role.inputs
        assert len(role.inputs["namePrefix"]) <= 64 - UNIQUE_SUFFIX
    # Cut to 38 characters, two services' prefixes may read alike; the provider's suffix keeps the
    # names apart, which is why these are prefixes and not cut names.
    prefixes = [r.inputs["namePrefix"] for r in roles if r.name.endswith("-execution")]
    assert len(set(prefixes)) < len(prefixes)


def test_final_snapshot_identifier_is_valid(run):
    db = run.one("aws:rds/instance:Instance").inputs
    if "finalSnapshotIdentifier" in db:
        # DeleteDBInstance: 1–255 letters, numbers or hyphens, a letter first, no "--", no hyphen last.
        assert re.fullmatch(r"[a-z](?:-?[a-z0-9])*", db["finalSnapshotIdentifier"])
        assert len(db["finalSnapshotIdentifier"]) <= 255


def test_waf_log_group_carries_the_prefix_waf_requires(run):
    groups = [r.inputs["name"] for r in run.by_type("aws:cloudwatch/logGroup:LogGroup") if r.name == "waf-logs"]
    assert all(g.startswith("aws-waf-logs-") for g in groups)


# ------------------------------------------------------------------------------------------------
# Each rule refuses what AWS refuses (and accepts what it accepts).

REFUSED = [
    ("aws:lb/loadBalancer:LoadBalancer", {"name": "internal-api"}),
    ("aws:lb/loadBalancer:LoadBalancer", {"name": "a" * 33}),
    ("aws:lb/loadBalancer:LoadBalancer", {"name": "api-"}),
    ("aws:lb/targetGroup:TargetGroup", {"name": "-api"}),
    ("aws:iam/role:Role", {"namePrefix": "r" * 39}),
    ("aws:iam/role:Role", {"namePrefix": "role/with/slash"}),
    ("aws:rds/instance:Instance", {"identifier": "berth--prod"}),
    ("aws:rds/instance:Instance", {"identifier": "1berth"}),
    ("aws:rds/instance:Instance", {"identifier": "a" * 64}),
    ("aws:rds/subnetGroup:SubnetGroup", {"name": "default"}),
    ("aws:elasticache/replicationGroup:ReplicationGroup", {"replicationGroupId": "a" * 41}),
    ("aws:elasticache/replicationGroup:ReplicationGroup", {"replicationGroupId": "Berth"}),
    ("aws:ec2/securityGroup:SecurityGroup", {"namePrefix": "sg-berth-", "vpcId": "vpc-1"}),
    ("aws:s3/bucket:Bucket", {"bucketPrefix": "b" * 38}),
    ("aws:s3/bucket:Bucket", {"bucketPrefix": "xn--berth-"}),
    ("aws:secretsmanager/secret:Secret", {"name": "berth/clé"}),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", {"name": "line\nbreak"}),
    ("aws:ecr/repository:Repository", {"name": "b"}),
    ("aws:wafv2/webAcl:WebAcl", {"name": "berth edge"}),
]
ACCEPTED = [
    ("aws:lb/loadBalancer:LoadBalancer", {"name": "a" * 32}),
    ("aws:iam/role:Role", {"namePrefix": "r" * 38}),
    ("aws:rds/instance:Instance", {"identifier": "a" * 63}),
    ("aws:elasticache/replicationGroup:ReplicationGroup", {"replicationGroupId": "a" * 40}),
    ("aws:s3/bucket:Bucket", {"bucketPrefix": "b" * 37}),
    ("aws:ec2/securityGroup:SecurityGroup", {"namePrefix": "berth-sg-", "vpcId": "vpc-1"}),
]


def record(typ: str, inputs: dict) -> Record:
    return Record(urn=f"urn:pulumi:s::berth::{typ}::x", type=typ, name="x", parent="", custom=True, inputs=inputs)


@pytest.mark.parametrize("typ,inputs", REFUSED, ids=[f"{t.split(':')[-1]}-{list(i.values())[0][:12]!r}" for t, i in REFUSED])
def test_rule_refuses(typ, inputs):
    assert physical_name_problems([record(typ, inputs)], PHYSICAL_NAMES)


@pytest.mark.parametrize("typ,inputs", ACCEPTED, ids=[f"{t.split(':')[-1]}-{len(list(i.values())[0])}" for t, i in ACCEPTED])
def test_rule_accepts(typ, inputs):
    assert physical_name_problems([record(typ, inputs)], PHYSICAL_NAMES) == []
