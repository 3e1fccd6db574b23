"""The recorded aws resources, as the AWS API requests they become, checked against botocore's
service models (plus enums and ranges), and every IAM policy checked with parliament.

The checks themselves are infra/checks/aws.py, the code `python -m infra plan --check` runs; these
tests run them on the shipped stacks and show they can fail."""

from __future__ import annotations

import json
import re

import pytest

from infra.checks import aws as botocheck
from infra.mocks import run_program, read_stack_config, run_stack

TIERS = ("dev", "prod")


def with_worker(stack: str) -> dict:
    config = read_stack_config(stack)
    config["berth:services"] = {"api": {"kind": "web"},
                                "worker": {"kind": "worker", "command": ["python", "-m", "app", "worker"]}}
    return config


@pytest.fixture(scope="module")
def runs():
    # The shipped stacks, and prod with a worker, so a worker's task definition is checked too.
    out = {stack: run_stack(stack) for stack in TIERS}
    out["prod+worker"] = run_program("prod", with_worker("prod"))
    return out


def records(runs, typ):
    return [(name, rec) for name, run in runs.items() for rec in run.by_type(typ)]


# ------------------------------------------------------------------------------------------------
# The walker itself must be able to fail, or every check below proves nothing.

def test_botocheck_catches_what_the_plain_validator_skips():
    shape = botocheck.input_shape("elbv2", "CreateTargetGroup")
    good = {"Name": "api", "Protocol": "HTTP", "Port": 8000, "VpcId": "vpc-1", "HealthCheckIntervalSeconds": 10}
    assert botocheck.problems("elbv2", "CreateTargetGroup", good) == []
    bad_enum = {**good, "Protocol": "HTTP2"}
    assert any("not one of" in p for p in botocheck.problems("elbv2", "CreateTargetGroup", bad_enum))
    too_long = {**good, "HealthCheckIntervalSeconds": 301}
    assert shape.members["HealthCheckIntervalSeconds"].metadata.get("max") == 300
    assert any("above the maximum" in p for p in botocheck.problems("elbv2", "CreateTargetGroup", too_long))
    visibility = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "edge metric"}
    acl = {"Name": "x", "Scope": "REGIONAL", "DefaultAction": {"Allow": {}}, "VisibilityConfig": visibility}
    assert any("does not match" in p for p in botocheck.problems("wafv2", "CreateWebACL", acl))  # a space
    unknown = {**good, "HealthCheckPeriod": 10}
    assert botocheck.problems("elbv2", "CreateTargetGroup", unknown)
    assert botocheck.to_api({"fooBar": [1.0, 1.5]}) == {"FooBar": [1, 1.5]}


# ------------------------------------------------------------------------------------------------
# ECS: RegisterTaskDefinition takes camelCase, like Pulumi's inputs.

def test_task_definitions_against_ecs_model(runs):
    found = records(runs, "aws:ecs/taskDefinition:TaskDefinition")
    assert len(found) == 4  # dev api, prod api, prod api + worker
    for stack, rec in found:
        assert botocheck.task_definition(rec) == [], (stack, rec.name)


def test_worker_container_takes_no_traffic(runs):
    run = runs["prod+worker"]
    worker = [r for r in run.by_type("aws:ecs/taskDefinition:TaskDefinition") if r.parent.endswith("::worker")]
    defs = {c["name"]: c for c in json.loads(worker[0].inputs["containerDefinitions"])}
    assert defs["worker"]["command"] == ["python", "-m", "app", "worker"]
    assert "portMappings" not in defs["worker"] and "healthCheck" not in defs["worker"]
    assert defs["worker"]["dependsOn"] == [{"containerName": "migrate", "condition": "SUCCESS"}]


# ------------------------------------------------------------------------------------------------
# ELBv2: CreateTargetGroup, PascalCase, health check members flattened.

def test_target_groups_against_elbv2_model(runs):
    found = records(runs, "aws:lb/targetGroup:TargetGroup")
    assert len(found) == 3  # one per web service; the worker gets none
    for stack, rec in found:
        assert botocheck.target_group(rec) == [], (stack, rec.name)


# ------------------------------------------------------------------------------------------------
# Application Auto Scaling: RegisterScalableTarget and PutScalingPolicy.

def test_scaling_against_autoscaling_model(runs):
    for stack, rec in records(runs, "aws:appautoscaling/target:Target"):
        assert botocheck.scalable_target(rec) == [], stack
    found = records(runs, "aws:appautoscaling/policy:Policy")
    assert len(found) == 2 + 2 + 3  # cpu+requests per web service, cpu only for the worker
    for stack, rec in found:
        assert botocheck.scaling_policy(rec) == [], (stack, rec.name)


# ------------------------------------------------------------------------------------------------
# CloudWatch: PutMetricAlarm. Pulumi's dimensions are a map; the API's a list of Name/Value.

def test_alarms_against_cloudwatch_model(runs):
    found = records(runs, "aws:cloudwatch/metricAlarm:MetricAlarm")
    assert len(found) >= 8 * 3
    for stack, rec in found:
        assert botocheck.metric_alarm(rec) == [], (stack, rec.name)


def test_worker_alarms_have_no_load_balancer_signals(runs):
    names = {r.name for r in runs["prod+worker"].by_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert {"worker-cpu", "worker-memory", "worker-no-tasks"} <= names
    assert not {"worker-p95-latency", "worker-unhealthy"} & names


# ------------------------------------------------------------------------------------------------
# WAFv2: CreateWebACL. "cloudwatchMetricsEnabled" is "CloudWatchMetricsEnabled" in the API.

def test_web_acl_against_wafv2_model(runs):
    found = records(runs, "aws:wafv2/webAcl:WebAcl")
    assert len(found) == 3
    for stack, rec in found:
        assert botocheck.web_acl(rec) == [], stack


# ------------------------------------------------------------------------------------------------
# IAM: every permission policy passes parliament with no finding.

def policy_documents(run):
    for rec in run.by_type("aws:iam/rolePolicy:RolePolicy"):
        yield rec, rec.inputs["policy"]
    for rec in run.by_type("aws:s3/bucketPolicy:BucketPolicy"):
        yield rec, rec.inputs["policy"]


def test_policies_pass_parliament(runs):
    seen = 0
    for stack, run in runs.items():
        for rec in run.by_type("aws:iam/rolePolicy:RolePolicy") + run.by_type("aws:s3/bucketPolicy:BucketPolicy"):
            assert botocheck.permission_policy(rec) == [], (stack, rec.type, rec.name)
            seen += 1
    assert seen == 1 + 2 + 1 + 2  # execution policies (dev, prod, prod+worker ×2) and prod's log buckets


def test_trust_policies(runs):
    for stack, run in runs.items():
        for rec in run.by_type("aws:iam/role:Role"):
            doc = json.loads(rec.inputs["assumeRolePolicy"])
            [stmt] = doc["Statement"]
            assert stmt["Principal"] == {"Service": "ecs-tasks.amazonaws.com"} and stmt["Action"] == "sts:AssumeRole"
            assert stmt["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
            assert botocheck.trust_policy(rec) == [], (stack, rec.name)


def test_execution_role_reads_exactly_its_secrets(runs):
    for stack, run in runs.items():
        secret_arns = {r.urn: None for r in run.by_type("aws:secretsmanager/secret:Secret")}
        from infra.mocks import REGION, ACCOUNT, _short_hash
        arns = sorted(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{r.inputs['name']}-{_short_hash(r.name, length=6)}"
                      for r in run.by_type("aws:secretsmanager/secret:Secret"))
        assert len(arns) == len(secret_arns)
        repo = run.one("aws:ecr/repository:Repository").inputs["name"]
        for rec in run.by_type("aws:iam/rolePolicy:RolePolicy"):
            doc = json.loads(rec.inputs["policy"])
            by_sid = {s["Sid"]: s for s in doc["Statement"]}
            assert set(by_sid) == {"EcrLogin", "EcrPull", "Logs", "Secrets"}
            assert sorted(by_sid["Secrets"]["Resource"]) == arns
            assert by_sid["Secrets"]["Action"] == "secretsmanager:GetSecretValue"
            assert by_sid["EcrPull"]["Resource"] == [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repo}"]
            assert re.fullmatch(rf"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/berth/berth-[a-z]+/[a-z]+:\*", by_sid["Logs"]["Resource"])
            assert all(s["Effect"] == "Allow" for s in doc["Statement"])
            assert [s["Sid"] for s in doc["Statement"] if s["Resource"] == "*"] == ["EcrLogin"]
            assert rec.name == f"{rec.parent.rsplit('::', 1)[-1]}-execution"
        # The task role gets no policy at all.
        roles = {r.urn for r in run.by_type("aws:iam/role:Role") if r.name.endswith("-task")}
        assert roles
        assert not run.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        assert not [r for r in run.by_type("aws:iam/policy:Policy")]


# ------------------------------------------------------------------------------------------------
# RDS CreateDBInstance and ElastiCache CreateReplicationGroup: the data stores' requests.

def test_data_stores_against_rds_and_elasticache_models(runs):
    found = records(runs, "aws:rds/instance:Instance") + records(runs, "aws:elasticache/replicationGroup:ReplicationGroup")
    assert len(found) == 6
    for stack, rec in found:
        assert list(botocheck.problems_of(rec)) == [], (stack, rec.name)


# ------------------------------------------------------------------------------------------------
# The whole check, as `plan --check` runs it, and proof that it can fail.

def test_check_passes_every_run_and_covers_each_modelled_type(runs):
    for stack, run in runs.items():
        assert botocheck.check(run) == [], stack
    assert {r.type for run in runs.values() for r in botocheck.checked(run)} == set(botocheck.CHECKS)


@pytest.mark.parametrize("typ, path, value, reason", [
    ("aws:lb/targetGroup:TargetGroup", ("healthCheck", "interval"), 301.0, "above the maximum 300"),
    ("aws:appautoscaling/target:Target", ("scalableDimension",), "ecs:service:Count", "is not one of"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", ("comparisonOperator",), "Bigger", "is not one of"),
    ("aws:rds/instance:Instance", ("storageType",), 42.0, "Invalid type"),
    ("aws:iam/rolePolicy:RolePolicy", ("policy",), json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "*"}]}), "UNKNOWN_ACTION"),
])
def test_check_names_the_resource_and_the_reason(runs, typ, path, value, reason):
    import copy
    run = copy.deepcopy(runs["prod"])
    rec = run.by_type(typ)[0]
    target = rec.inputs
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    found = botocheck.check(run)
    assert found and all(p.startswith(f"{typ} '{rec.name}': ") for p in found), found
    assert any(reason in p for p in found), found
