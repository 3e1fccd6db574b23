"""The recorded aws resources, as the AWS API requests they become, checked against botocore's
service models (plus enums, ranges and patterns) and every IAM policy with parliament, through
infra/checks/aws.py — and that checker shown able to fail, request kind by request kind."""

from __future__ import annotations

import copy
import json
import re

import parliament
import pytest

from infra.checks import aws as checks
from infra.mocks import ACCOUNT, REGION, Run, _short_hash, read_stack_config, run_program, run_stack
from tests import botocheck

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


def operations(run) -> set[str]:
    return {operation for _, (_, operation, _) in checks.requests(run)}


# ------------------------------------------------------------------------------------------------
# Every request of every stack passes.

@pytest.mark.parametrize("stack", ["dev", "prod", "prod+worker"])
def test_every_request_passes_the_models_and_parliament(runs, stack):
    assert checks.check(runs[stack]) == []


def test_the_new_production_requests_are_among_those_checked(runs):
    # Turned on in prod: the checker saw each of them, so "no problem" covers them.
    assert operations(runs["prod"]) >= {
        "PutLoggingConfiguration", "CreateFlowLogs", "CreateVpcEndpoint", "PutMetricAlarm", "CreateKey",
        "ScheduleKeyDeletion", "CreateTopic", "ModifyLoadBalancerAttributes", "PutBucketPolicy", "PutRolePolicy",
        "CreateService", "ModifyDBInstance", "CreateReplicationGroup", "CreateRole", "CreateSecurityGroup"}
    assert {"PutLoggingConfiguration", "CreateFlowLogs"}.isdisjoint(operations(runs["dev"]))  # off in dev


# ------------------------------------------------------------------------------------------------
# The walker and the checker must be able to fail, or every check above proves nothing.

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


def mutated(run: Run, typ: str, change) -> Run:
    """`run` with one input of one resource changed (a deep copy: the fixture stays intact)."""
    out = copy.deepcopy(run)
    rec = out.by_type(typ)[0]
    change(rec.inputs)
    return out


BROKEN = [
    # (type, change, what the checker must say)
    ("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
     lambda i: i.update(redactedFields=[{"singleHeader": {"name": "Authorization"}}]), "lower case"),
    ("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
     lambda i: i.update(logDestinationConfigs=[i["logDestinationConfigs"][0].replace("aws-waf-logs-", "waf-")]),
     "aws-waf-logs-"),
    ("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
     lambda i: i.update(redactedFields=[{"singleHeader": {}}]), "Name"),
    ("aws:ec2/flowLog:FlowLog", lambda i: i.update(trafficType="EVERYTHING"), "not one of"),
    ("aws:ec2/flowLog:FlowLog", lambda i: i.update(maxAggregationInterval=120), "60 or 600"),
    ("aws:ec2/vpcEndpoint:VpcEndpoint", lambda i: i.update(vpcEndpointType="Gatewy"), "not one of"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", lambda i: i.update(comparisonOperator="Above"), "not one of"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", lambda i: i.update(name="x" * 256), "above the maximum"),
    ("aws:kms/key:Key", lambda i: i.update(deletionWindowInDays=3), "7 to 30"),
    ("aws:kms/key:Key", lambda i: i.update(policy=i["policy"].replace('"kms:DescribeKey"', '"kms:ListKeys"')),
     "RESOURCE_MISMATCH"),
    ("aws:lb/loadBalancer:LoadBalancer", lambda i: i.update(idleTimeout=4001), "1-4000"),
    ("aws:lb/loadBalancer:LoadBalancer", lambda i: i.update(loadBalancerType="classic"), "not one of"),
    ("aws:ecs/service:Service", lambda i: i.update(deploymentController={"type": "ROLLING"}), "not one of"),
    ("aws:iam/rolePolicy:RolePolicy",
     lambda i: i.update(policy=i["policy"].replace("logs:PutLogEvents", "logs:PutLogEvent")), "UNKNOWN_ACTION"),
    ("aws:s3/bucketPolicy:BucketPolicy",
     lambda i: i.update(policy=i["policy"].replace('"s3:PutObject"', '"s3:PutObjects"')), "UNKNOWN_ACTION"),
    ("aws:cloudwatch/logGroup:LogGroup", lambda i: i.update(retentionInDays=10), "retentionInDays"),
    ("aws:ec2/securityGroup:SecurityGroup", lambda i: i.pop("description"), "'description' is missing"),
    ("aws:rds/instance:Instance", lambda i: i.update(allowMajorVersionUpgrade="no"), "AllowMajorVersionUpgrade"),
]


@pytest.mark.parametrize("typ,change,said", BROKEN, ids=[f"{t.split(':')[-1]}-{s}" for t, _, s in BROKEN])
def test_checker_refuses_a_broken_request(runs, typ, change, said):
    problems = checks.check(mutated(runs["prod"], typ, change))
    assert problems and all(p.startswith(f"{typ} '") for p in problems), problems
    assert any(said in p for p in problems), problems


# ------------------------------------------------------------------------------------------------
# What the requests say, beyond passing.

def test_worker_container_takes_no_traffic(runs):
    run = runs["prod+worker"]
    worker = [r for r in run.by_type("aws:ecs/taskDefinition:TaskDefinition") if r.parent.endswith("::worker")]
    defs = {c["name"]: c for c in json.loads(worker[0].inputs["containerDefinitions"])}
    assert defs["worker"]["command"] == ["python", "-m", "app", "worker"]
    assert "portMappings" not in defs["worker"] and "healthCheck" not in defs["worker"]
    assert defs["worker"]["dependsOn"] == [{"containerName": "migrate", "condition": "SUCCESS"}]


def test_worker_alarms_have_no_load_balancer_signals(runs):
    names = {r.name for r in runs["prod+worker"].by_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert {"worker-cpu", "worker-memory", "worker-no-tasks"} <= names
    assert not {"worker-p95-latency", "worker-unhealthy"} & names


def test_policies_pass_parliament_including_its_community_auditors(runs):
    seen = {}
    for stack, run in runs.items():
        for rec, kind, doc in checks.policy_documents(run):
            assert parliament.analyze_policy_string(doc).findings == [], (stack, rec.name)
            community = {f.issue for f in parliament.analyze_policy_string(doc, include_community_auditors=True).findings}
            # Known and intended: ecr:GetAuthorizationToken hands out a registry credential (pulling
            # the image needs exactly that); the account administers its own alert key.
            allowed = {"identity": {"CREDENTIALS_EXPOSURE"}, "key": {"PERMISSIONS_MANAGEMENT_ACTIONS"}}.get(kind, set())
            assert community <= allowed, (stack, rec.name, community)
            seen[kind] = seen.get(kind, 0) + 1
    # execution roles (dev, prod, prod+worker ×2) and prod's flow-log roles (prod, prod+worker);
    # prod's log-bucket policies; every stack's alert key.
    assert seen == {"identity": 1 + 1 + 2 + 1 + 1, "bucket": 2, "key": 3}


def test_trust_policies(runs):
    trusted = {"execution": "ecs-tasks.amazonaws.com", "task": "ecs-tasks.amazonaws.com",
               "flow-logs": "vpc-flow-logs.amazonaws.com"}
    for stack, run in runs.items():
        for rec in run.by_type("aws:iam/role:Role"):
            doc = json.loads(rec.inputs["assumeRolePolicy"])
            [stmt] = doc["Statement"]
            kind = rec.name.split("-", 1)[-1] if rec.name != "flow-logs" else "flow-logs"
            assert stmt["Principal"] == {"Service": trusted[kind]} and stmt["Action"] == "sts:AssumeRole"
            assert stmt["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
            if kind == "flow-logs":  # and only for this account's flow logs
                assert stmt["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-flow-log/*"}
            # Parliament reads identity policies; a trust policy must not name a Resource, which is
            # its only complaint here.
            findings = parliament.analyze_policy_string(rec.inputs["assumeRolePolicy"]).findings
            assert {f.issue for f in findings} <= {"MALFORMED"}
            assert all("neither Resource" in str(f.detail) for f in findings)


def test_execution_role_reads_exactly_its_secrets(runs):
    for stack, run in runs.items():
        arns = sorted(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{r.inputs['name']}-{_short_hash(r.name, length=6)}"
                      for r in run.by_type("aws:secretsmanager/secret:Secret"))
        repo = run.one("aws:ecr/repository:Repository").inputs["name"]
        executions = [r for r in run.by_type("aws:iam/rolePolicy:RolePolicy") if r.name != "flow-logs"]
        assert executions
        for rec in executions:
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


def test_flow_log_role_writes_only_its_log_group(runs):
    run = runs["prod"]
    group = run.one("aws:cloudwatch/logGroup:LogGroup", "flow-logs").inputs["name"]
    doc = json.loads(run.one("aws:iam/rolePolicy:RolePolicy", "flow-logs").inputs["policy"])
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["Write"]["Resource"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"
    assert set(by_sid["Write"]["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}
    # The only unscoped grant is the one IAM cannot scope.
    assert [(s["Sid"], s["Action"]) for s in doc["Statement"] if s["Resource"] == "*"] == [("Find", "logs:DescribeLogGroups")]
