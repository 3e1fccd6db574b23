"""The production estate of the aws target, read from what the shipped stacks record: the client's
address and keep-alive contract, flow logs, WAF logs, the data stores' alarms, the encrypted alert
topic, the S3 gateway endpoint, the access-log bucket policy, and the settings a real update
depends on. Each on prod, and on dev where the tier says otherwise."""

from __future__ import annotations

import json

import pulumi
import pytest

from infra.mocks import ACCOUNT, REGION, _short_hash, run_program, run_stack, read_stack_config

TIERS = ("dev", "prod")
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


@pytest.fixture(scope="module")
def runs():
    out = {stack: run_stack(stack) for stack in TIERS}
    config = read_stack_config("prod")
    config["berth:services"] = {"api": {"kind": "web"},
                                "worker": {"kind": "worker", "command": ["python", "-m", "app", "worker"]}}
    out["prod+worker"] = run_program("prod", config)
    return out


def mock_id(rec) -> str:
    """The id the mock cloud gave a resource: what other resources reference."""
    return f"{rec.name}-{_short_hash(rec.type, rec.name, length=8)}"


def environment(run, service: str) -> dict[str, str]:
    [td] = [r for r in run.by_type("aws:ecs/taskDefinition:TaskDefinition") if r.parent.endswith(f"::{service}")]
    defs = {c["name"]: c for c in json.loads(td.inputs["containerDefinitions"])}
    return {e["name"]: e["value"] for e in defs[service]["environment"]}


def alarms(run) -> dict[str, dict]:
    return {a.name: a.inputs for a in run.by_type(ALARM)}


# ------------------------------------------------------------------------------------------------
# Client address and keep-alive

@pytest.mark.parametrize("stack", TIERS)
def test_web_service_trusts_only_the_vpc_and_outlasts_the_alb(runs, stack):
    run = runs[stack]
    env = environment(run, "api")
    vpc = run.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"]
    assert env["FORWARDED_ALLOW_IPS"] == vpc and env["FORWARDED_ALLOW_IPS"] != "*"
    idle = run.one("aws:lb/loadBalancer:LoadBalancer").inputs["idleTimeout"]
    assert idle == 60
    assert int(env["KEEPALIVE_SECONDS"]) > idle


def test_worker_gets_no_proxy_settings(runs):
    env = environment(runs["prod+worker"], "worker")
    assert "FORWARDED_ALLOW_IPS" not in env and "KEEPALIVE_SECONDS" not in env
    assert env["ENVIRONMENT"] == "production"


# ------------------------------------------------------------------------------------------------
# Flow logs and WAF logs: prod on, dev off

def test_vpc_flow_logs_in_prod_only(runs):
    assert not runs["dev"].by_type("aws:ec2/flowLog:FlowLog")
    run = runs["prod"]
    flow = run.one("aws:ec2/flowLog:FlowLog").inputs
    group = run.one(LOG_GROUP, "flow-logs").inputs
    role = run.one("aws:iam/role:Role", "flow-logs")
    assert flow["vpcId"] == mock_id(run.one("aws:ec2/vpc:Vpc"))
    assert flow["trafficType"] == "ALL" and flow["logDestinationType"] == "cloud-watch-logs"
    assert flow["logDestination"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group['name']}"
    assert flow["iamRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{role.name}"
    assert group["retentionInDays"] == 90  # the tier's log retention
    policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy", "flow-logs").inputs["policy"])
    assert policy["Statement"][0]["Resource"] == flow["logDestination"] + ":*"


def test_waf_logs_in_prod_only_with_credentials_redacted(runs):
    assert not runs["dev"].by_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    run = runs["prod"]
    logging = run.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration").inputs
    acl = run.one("aws:wafv2/webAcl:WebAcl")
    assert logging["resourceArn"] == f"arn:aws:wafv2:{REGION}:{ACCOUNT}:webacl/{acl.name}"
    [destination] = logging["logDestinationConfigs"]
    group = destination.split(":log-group:")[1]
    assert group.startswith("aws-waf-logs-") and not destination.endswith(":*")
    assert run.one(LOG_GROUP, "waf-logs").inputs["name"] == group
    assert logging["redactedFields"] == [{"singleHeader": {"name": "authorization"}},
                                         {"singleHeader": {"name": "cookie"}}]


# ------------------------------------------------------------------------------------------------
# Alarms on the data stores

@pytest.mark.parametrize("stack", TIERS)
def test_cache_alarms_per_node(runs, stack):
    run = runs[stack]
    group = run.one("aws:elasticache/replicationGroup:ReplicationGroup").inputs
    nodes = int(group["numCacheClusters"])
    found = alarms(run)
    for n in range(1, nodes + 1):
        node = f"{group['replicationGroupId']}-{n:03d}"
        cpu, memory, evictions = (found[f"cache-{n}-{m}"] for m in ("engine-cpu-utilization", "memory-usage", "evictions"))
        for alarm in (cpu, memory, evictions):
            assert alarm["namespace"] == "AWS/ElastiCache" and alarm["dimensions"] == {"CacheClusterId": node}
        assert cpu["metricName"] == "EngineCPUUtilization" and cpu["threshold"] == {"dev": 85, "prod": 80}[stack]
        assert memory["metricName"] == "DatabaseMemoryUsagePercentage" and memory["threshold"] == {"dev": 85, "prod": 80}[stack]
        assert evictions["metricName"] == "Evictions" and evictions["statistic"] == "Sum" and evictions["threshold"] == 100
        lag = found.get(f"cache-{n}-replication-lag")
        assert (lag is not None) is group["automaticFailoverEnabled"]  # a replica only with HA
        if lag:
            assert lag["metricName"] == "ReplicationLag" and lag["threshold"] == 30
            assert lag["treatMissingData"] == "notBreaching"  # the primary reports no lag
    assert nodes == {"dev": 1, "prod": 2}[stack]


@pytest.mark.parametrize("stack", TIERS)
def test_database_memory_and_connection_alarms(runs, stack):
    run = runs[stack]
    db = run.one("aws:rds/instance:Instance").inputs
    found = alarms(run)
    memory, connections = found["database-freeable-memory-low"], found["database-connections"]
    for alarm in (memory, connections):
        assert alarm["namespace"] == "AWS/RDS" and alarm["dimensions"] == {"DBInstanceIdentifier": db["identifier"]}
    assert memory["metricName"] == "FreeableMemory" and memory["comparisonOperator"] == "LessThanThreshold"
    assert memory["threshold"] == {"dev": 64, "prod": 256}[stack] * 1024 ** 2
    # ~70% of the class's default max_connections: the tier's size → threshold map
    assert connections["metricName"] == "DatabaseConnections"
    assert connections["threshold"] == {"dev": 60, "prod": 600}[stack]
    assert db["instanceClass"] == {"dev": "db.t4g.micro", "prod": "db.m7g.large"}[stack]


# ------------------------------------------------------------------------------------------------
# The alert topic's key

@pytest.mark.parametrize("stack", TIERS)
def test_alert_topic_encrypted_with_a_rotating_key_cloudwatch_may_use(runs, stack):
    run = runs[stack]
    key = run.one("aws:kms/key:Key")
    topic = run.one("aws:sns/topic:Topic").inputs
    assert topic["kmsMasterKeyId"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key.name}"
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == {"dev": 7, "prod": 30}[stack]
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    cloudwatch = statements["CloudWatchAlarmsPublish"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    source = cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"]
    assert source == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:berth-{stack}-*"
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    # Every alarm of the stack falls under that condition, so every one may publish.
    assert all(a.inputs["name"].startswith(f"berth-{stack}-") for a in run.by_type(ALARM))
    assert statements["AccountAdministersAndUses"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


# ------------------------------------------------------------------------------------------------
# Network and edge

@pytest.mark.parametrize("stack", TIERS)
def test_s3_gateway_endpoint_on_every_private_route_table(runs, stack):
    run = runs[stack]
    endpoint = run.one("aws:ec2/vpcEndpoint:VpcEndpoint").inputs
    private = sorted(mock_id(r) for r in run.by_type("aws:ec2/routeTable:RouteTable") if r.name.startswith("private-"))
    assert endpoint["vpcEndpointType"] == "Gateway" and endpoint["serviceName"] == f"com.amazonaws.{REGION}.s3"
    assert sorted(endpoint["routeTableIds"]) == private and len(private) == {"dev": 2, "prod": 3}[stack]
    assert endpoint["vpcId"] == mock_id(run.one("aws:ec2/vpc:Vpc"))


def test_alb_deletion_protection_in_prod_only(runs):
    for stack, on in (("dev", False), ("prod", True)):
        assert runs[stack].one("aws:lb/loadBalancer:LoadBalancer").inputs["enableDeletionProtection"] is on


def test_access_log_bucket_writable_by_the_elb_account_and_the_log_delivery_principal(runs):
    run = runs["prod"]
    bucket = run.one("aws:s3/bucket:Bucket")
    name = f"{bucket.inputs['bucketPrefix']}{_short_hash(bucket.name, length=8)}"
    statements = {s["Sid"]: s for s in json.loads(run.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])["Statement"]}
    objects = f"arn:aws:s3:::{name}/alb/AWSLogs/{ACCOUNT}/*"
    # us-east-1 opened before August 2022: its ELB account (from the provider's invoke) and the principal
    assert statements["ElbAccountWritesAccessLogs"]["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}
    assert statements["ElbLogDeliveryWritesAccessLogs"]["Principal"] == {
        "Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    for sid in ("ElbAccountWritesAccessLogs", "ElbLogDeliveryWritesAccessLogs"):
        assert statements[sid]["Resource"] == objects and statements[sid]["Action"] == "s3:PutObject"
    assert statements["TlsOnly"]["Effect"] == "Deny"
    alb = run.one("aws:lb/loadBalancer:LoadBalancer").inputs["accessLogs"]
    assert alb == {"enabled": True, "bucket": name, "prefix": "alb"}


def test_a_region_opened_after_august_2022_gets_the_principal_alone():
    from components.aws.edge import log_bucket_policy

    def program():
        pulumi.export("old", log_bucket_policy("arn:aws:s3:::b", ACCOUNT, "eu-west-1"))
        pulumi.export("new", log_bucket_policy("arn:aws:s3:::b", ACCOUNT, "ap-southeast-4"))  # Melbourne, 2023

    run = run_program("dev", {}, program)
    principals = {k: [s["Principal"] for s in json.loads(v)["Statement"] if s["Effect"] == "Allow"]
                  for k, v in run.outputs.items()}
    assert principals["new"] == [{"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}]
    assert len(principals["old"]) == 2 and principals["old"][1] == principals["new"][0]


# ------------------------------------------------------------------------------------------------
# What a real update depends on

@pytest.mark.parametrize("stack", TIERS)
def test_engine_upgrades_are_stated(runs, stack):
    db = runs[stack].one("aws:rds/instance:Instance").inputs
    assert db["allowMajorVersionUpgrade"] is False and db["autoMinorVersionUpgrade"] is True


@pytest.mark.parametrize("stack", TIERS)
def test_rollbacks_fail_the_update(runs, stack):
    # The provider fails a steady-state wait on a rolled-back deployment only for the ECS controller.
    for svc in runs[stack].by_type("aws:ecs/service:Service"):
        i = svc.inputs
        assert i["deploymentController"] == {"type": "ECS"} and i["waitForSteadyState"] is True
        assert i["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
