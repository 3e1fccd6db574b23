"""The recorded aws resources, as the AWS API requests they become, checked against botocore's
service models (plus enums and ranges), and every IAM policy checked with parliament."""

from __future__ import annotations

import json
import re

import parliament
import pytest

from tests import botocheck
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
        i = rec.inputs
        request = botocheck.to_api({
            "family": i["family"], "taskRoleArn": i["taskRoleArn"], "executionRoleArn": i["executionRoleArn"],
            "networkMode": i["networkMode"], "requiresCompatibilities": i["requiresCompatibilities"],
            "cpu": i["cpu"], "memory": i["memory"], "volumes": i["volumes"],
            "runtimePlatform": i["runtimePlatform"],
            "containerDefinitions": json.loads(i["containerDefinitions"]),
        }, pascal=False)
        assert botocheck.problems("ecs", "RegisterTaskDefinition", request) == [], (stack, rec.name)
        # ECS documents these ranges in prose only: check them here.
        for c in request["containerDefinitions"]:
            hc = c.get("healthCheck")
            if hc:
                assert 5 <= hc["interval"] <= 300 and 2 <= hc["timeout"] <= 60
                assert 1 <= hc["retries"] <= 10 and 0 <= hc["startPeriod"] <= 300


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
        i, hc = rec.inputs, rec.inputs["healthCheck"]
        request = botocheck.to_api({
            "Name": f"{rec.name}-0123456", "Protocol": i["protocol"], "Port": i["port"], "VpcId": i["vpcId"],
            "TargetType": i["targetType"], "HealthCheckEnabled": hc["enabled"], "HealthCheckPath": hc["path"],
            "HealthCheckProtocol": hc["protocol"], "HealthCheckPort": hc["port"],
            "HealthCheckIntervalSeconds": hc["interval"], "HealthCheckTimeoutSeconds": hc["timeout"],
            "HealthyThresholdCount": hc["healthyThreshold"], "UnhealthyThresholdCount": hc["unhealthyThreshold"],
            "Matcher": {"HttpCode": hc["matcher"]},
        })
        assert botocheck.problems("elbv2", "CreateTargetGroup", request) == [], (stack, rec.name)
        assert request["HealthCheckTimeoutSeconds"] < request["HealthCheckIntervalSeconds"]
        # deregistration_delay.timeout_seconds attribute: 0–3600
        assert 0 <= int(i["deregistrationDelay"]) <= 3600


# ------------------------------------------------------------------------------------------------
# Application Auto Scaling: RegisterScalableTarget and PutScalingPolicy.

def test_scaling_against_autoscaling_model(runs):
    for stack, rec in records(runs, "aws:appautoscaling/target:Target"):
        i = rec.inputs
        request = botocheck.to_api({k: i[k] for k in ("serviceNamespace", "resourceId", "scalableDimension",
                                                      "minCapacity", "maxCapacity")})
        assert botocheck.problems("application-autoscaling", "RegisterScalableTarget", request) == [], stack
    found = records(runs, "aws:appautoscaling/policy:Policy")
    assert len(found) == 2 + 2 + 3  # cpu+requests per web service, cpu only for the worker
    for stack, rec in found:
        i = rec.inputs
        request = botocheck.to_api({
            "PolicyName": i["name"], "PolicyType": i["policyType"], "ServiceNamespace": i["serviceNamespace"],
            "ResourceId": i["resourceId"], "ScalableDimension": i["scalableDimension"],
            "TargetTrackingScalingPolicyConfiguration": i["targetTrackingScalingPolicyConfiguration"],
        })
        assert botocheck.problems("application-autoscaling", "PutScalingPolicy", request) == [], (stack, rec.name)


# ------------------------------------------------------------------------------------------------
# CloudWatch: PutMetricAlarm. Pulumi's dimensions are a map; the API's a list of Name/Value.

def alarm_request(i: dict) -> dict:
    def dims(d: dict) -> list:
        return [{"Name": k, "Value": v} for k, v in d.items()]
    request = {k[:1].upper() + k[1:]: v for k, v in i.items()
               if k in ("comparisonOperator", "threshold", "evaluationPeriods", "datapointsToAlarm",
                        "treatMissingData", "alarmActions", "alarmDescription", "namespace", "metricName",
                        "period", "statistic", "extendedStatistic")}
    request["AlarmName"] = i["name"]
    request["OKActions"] = i["okActions"]
    if "dimensions" in i:
        request["Dimensions"] = dims(i["dimensions"])
    if "metricQueries" in i:
        request["Metrics"] = []
        for q in i["metricQueries"]:
            m = {"Id": q["id"], "ReturnData": q["returnData"]}
            if "expression" in q:
                m["Expression"], m["Label"] = q["expression"], q["label"]
            else:
                metric = q["metric"]
                m["MetricStat"] = {"Metric": {"Namespace": metric["namespace"], "MetricName": metric["metricName"],
                                              "Dimensions": dims(metric["dimensions"])},
                                   "Period": metric["period"], "Stat": metric["stat"]}
            request["Metrics"].append(m)
    return botocheck.whole(request)


def test_alarms_against_cloudwatch_model(runs):
    found = records(runs, "aws:cloudwatch/metricAlarm:MetricAlarm")
    assert len(found) >= 8 * 3
    for stack, rec in found:
        request = alarm_request(rec.inputs)
        assert botocheck.problems("cloudwatch", "PutMetricAlarm", request) == [], (stack, rec.name)
        assert request["DatapointsToAlarm"] <= request["EvaluationPeriods"]
        assert request.get("Period", 60) % 60 == 0


def test_worker_alarms_have_no_load_balancer_signals(runs):
    names = {r.name for r in runs["prod+worker"].by_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert {"worker-cpu", "worker-memory", "worker-no-tasks"} <= names
    assert not {"worker-p95-latency", "worker-unhealthy"} & names


# ------------------------------------------------------------------------------------------------
# WAFv2: CreateWebACL. "cloudwatchMetricsEnabled" is "CloudWatchMetricsEnabled" in the API.

WAF_RENAMES = {"cloudwatchMetricsEnabled": "CloudWatchMetricsEnabled"}


def test_web_acl_against_wafv2_model(runs):
    found = records(runs, "aws:wafv2/webAcl:WebAcl")
    assert len(found) == 3
    for stack, rec in found:
        i = rec.inputs
        request = botocheck.to_api({k: i[k] for k in ("name", "scope", "defaultAction", "rules", "visibilityConfig")},
                                   WAF_RENAMES)
        assert botocheck.problems("wafv2", "CreateWebACL", request) == [], stack
        rate = request["Rules"][0]["Statement"]["RateBasedStatement"]
        assert rate["EvaluationWindowSec"] in (60, 120, 300, 600)


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
        for rec, doc in policy_documents(run):
            findings = parliament.analyze_policy_string(doc).findings
            assert [(f.issue, f.detail) for f in findings] == [], (stack, rec.type, rec.name)
            # The community auditors add one known finding: ecr:GetAuthorizationToken hands out a
            # registry credential, which is exactly what pulling the image needs.
            community = parliament.analyze_policy_string(doc, include_community_auditors=True).findings
            assert {f.issue for f in community} <= {"CREDENTIALS_EXPOSURE"}
            seen += 1
    assert seen == 1 + 2 + 1 + 2  # execution policies (dev, prod, prod+worker ×2) and prod's log buckets


def test_trust_policies(runs):
    for stack, run in runs.items():
        for rec in run.by_type("aws:iam/role:Role"):
            doc = json.loads(rec.inputs["assumeRolePolicy"])
            [stmt] = doc["Statement"]
            assert stmt["Principal"] == {"Service": "ecs-tasks.amazonaws.com"} and stmt["Action"] == "sts:AssumeRole"
            assert stmt["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
            # Parliament reads identity policies; a trust policy must not name a Resource, which is
            # its only complaint here.
            findings = parliament.analyze_policy_string(rec.inputs["assumeRolePolicy"]).findings
            assert {f.issue for f in findings} <= {"MALFORMED"}
            assert all("neither Resource" in str(f.detail) for f in findings)


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

RDS_RENAMES = {
    "identifier": "DBInstanceIdentifier", "instanceClass": "DBInstanceClass", "dbName": "DBName",
    "multiAz": "MultiAZ", "username": "MasterUsername", "password": "MasterUserPassword",
    "dbSubnetGroupName": "DBSubnetGroupName", "parameterGroupName": "DBParameterGroupName",
    "performanceInsightsEnabled": "EnablePerformanceInsights",
    "enabledCloudwatchLogsExports": "EnableCloudwatchLogsExports",
}
RDS_NOT_IN_CREATE = ("applyImmediately", "skipFinalSnapshot", "finalSnapshotIdentifier")


def test_data_stores_against_rds_and_elasticache_models(runs):
    from infra.mocks import unwrap
    for stack, rec in records(runs, "aws:rds/instance:Instance"):
        i = {k: v for k, v in unwrap(rec.inputs).items() if k not in RDS_NOT_IN_CREATE}
        request = botocheck.to_api(i, RDS_RENAMES)
        assert botocheck.problems("rds", "CreateDBInstance", request) == [], stack
    for stack, rec in records(runs, "aws:elasticache/replicationGroup:ReplicationGroup"):
        i = {k: v for k, v in unwrap(rec.inputs).items() if k not in ("applyImmediately",)}
        request = botocheck.to_api(i, {
            "description": "ReplicationGroupDescription", "subnetGroupName": "CacheSubnetGroupName",
            "nodeType": "CacheNodeType", "multiAzEnabled": "MultiAZEnabled",
            "snapshotRetentionLimit": "SnapshotRetentionLimit"})
        assert botocheck.problems("elasticache", "CreateReplicationGroup", request) == [], stack
