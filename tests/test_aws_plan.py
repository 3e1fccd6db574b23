"""What the shipped aws stacks (dev and prod) record under the mock runtime."""

from __future__ import annotations

import json

import pytest

from infra.mocks import is_secret, masked, run_stack, unwrap

TIERS = ("dev", "prod")
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
TASKDEF = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RDS = "aws:rds/instance:Instance"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
SECRET = "aws:secretsmanager/secret:Secret"


@pytest.fixture(scope="module")
def runs():
    return {stack: run_stack(stack) for stack in TIERS}


def sg_id(run, name: str) -> str:
    # The mock's resource id: what rules reference as security_group_id.
    rec = run.one(SG, name)
    from infra.mocks import _short_hash
    return f"{rec.name}-{_short_hash(rec.type, rec.name, length=8)}"


def rules(run) -> set[tuple]:
    ids = {sg_id(run, r.name): r.name for r in run.by_type(SG)}
    out = set()
    for typ, direction in ((INGRESS, "in"), (EGRESS, "out")):
        for r in run.by_type(typ):
            i = r.inputs
            peer = i.get("cidrIpv4") or ids[i["referencedSecurityGroupId"]]
            assert i["ipProtocol"] == "tcp" and i["fromPort"] == i["toPort"], r.name
            out.add((ids[i["securityGroupId"]], direction, int(i["fromPort"]), peer))
    return out


def test_security_group_rules_one_by_one(runs):
    common = {
        ("alb", "in", 80, "0.0.0.0/0"),
        ("alb", "out", 8000, "tasks"),
        ("tasks", "in", 8000, "alb"),
        ("tasks", "out", 443, "0.0.0.0/0"),
        ("tasks", "out", 5432, "database"),
        ("database", "in", 5432, "tasks"),
        ("tasks", "out", 6379, "cache"),
        ("cache", "in", 6379, "tasks"),
    }
    # dev ships without a domain: no HTTPS listener, so 443 stays closed.
    assert rules(runs["dev"]) == common
    assert rules(runs["prod"]) == common | {("alb", "in", 443, "0.0.0.0/0")}
    for run in runs.values():
        for rec in run.by_type(SG):
            assert "ingress" not in rec.inputs and "egress" not in rec.inputs  # no inline (default) rules


def test_network_per_tier(runs):
    dev, prod = runs["dev"], runs["prod"]
    assert len(dev.by_type("aws:ec2/subnet:Subnet")) == 4
    assert len(prod.by_type("aws:ec2/subnet:Subnet")) == 6
    assert len(dev.by_type("aws:ec2/natGateway:NatGateway")) == 1
    assert len(prod.by_type("aws:ec2/natGateway:NatGateway")) == 3
    for run in runs.values():
        for s in run.by_type("aws:ec2/subnet:Subnet"):
            assert not s.inputs.get("mapPublicIpOnLaunch"), s.name


def containers(run, name="task", parent_suffix="api"):
    rec = [r for r in run.by_type(TASKDEF) if r.parent.endswith(f"::{parent_suffix}")]
    assert len(rec) == 1
    return rec[0], {c["name"]: c for c in json.loads(rec[0].inputs["containerDefinitions"])}


@pytest.mark.parametrize("stack", TIERS)
def test_task_definition(runs, stack):
    run = runs[stack]
    rec, defs = containers(run)
    secret_arns = {f"berth-{stack}/{r.inputs['name'].split('/')[-1]}": r for r in run.by_type(SECRET)}
    expected = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} | ({"OPENAI_API_KEY"} if stack == "prod" else set())
    cpu, memory = {"dev": ("256", "512"), "prod": ("1024", "2048")}[stack]
    assert (rec.inputs["cpu"], rec.inputs["memory"]) == (cpu, memory)
    assert rec.inputs["requiresCompatibilities"] == ["FARGATE"] and rec.inputs["networkMode"] == "awsvpc"
    assert rec.inputs["volumes"] == [{"name": "tmp"}]
    app, migrate = defs["api"], defs["migrate"]
    for c in (app, migrate):
        names = {s["name"] for s in c["secrets"]}
        assert names == expected
        assert not names & {e["name"] for e in c["environment"]}  # by reference, never in environment
        for s in c["secrets"]:
            assert s["valueFrom"].startswith("arn:aws:secretsmanager:") and f"/{s['name']}-" in s["valueFrom"]
        assert c["readonlyRootFilesystem"] is True and c["user"] == "10001:10001"
        assert c["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
        assert c["logConfiguration"]["logDriver"] == "awslogs"
        assert c["logConfiguration"]["options"]["awslogs-group"] == f"/berth/berth-{stack}/api"
    assert len(secret_arns) == len(expected)
    env = {e["name"]: e["value"] for e in app["environment"]}
    assert env["ENVIRONMENT"] == {"dev": "development", "prod": "production"}[stack]
    assert env["PORT"] == "8000"
    hc = app["healthCheck"]
    assert "/liveness" in hc["command"][-1] and hc["command"][0] == "CMD"
    live = {"dev": (15, 5, 3, 120), "prod": (10, 5, 3, 180)}[stack]  # startPeriod = startup budget
    assert (hc["interval"], hc["timeout"], hc["retries"], hc["startPeriod"]) == live
    assert app["essential"] is True and app["portMappings"] == [{"containerPort": 8000, "protocol": "tcp"}]
    assert migrate["essential"] is False and migrate["command"] == ["python", "-m", "app", "migrate"]
    assert app["dependsOn"] == [{"containerName": "migrate", "condition": "SUCCESS"}]
    assert "healthCheck" not in migrate and "portMappings" not in migrate
    logs = {r.inputs["name"]: r.inputs["retentionInDays"] for r in run.by_type("aws:cloudwatch/logGroup:LogGroup")}
    days = {"dev": 7, "prod": 90}[stack]
    expected_logs = {f"/berth/berth-{stack}/api", f"/aws/rds/instance/berth-{stack}/postgresql"}
    if stack == "prod":  # flow logs and WAF logs: prod's tier turns them on
        expected_logs |= {f"/berth/berth-{stack}/network/flow-logs", f"aws-waf-logs-berth-{stack}"}
    assert logs == {name: days for name in expected_logs}


@pytest.mark.parametrize("stack", TIERS)
def test_ecs_service_rollout(runs, stack):
    run = runs[stack]
    svc = run.one(SERVICE)
    i = svc.inputs
    assert i["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert (i["deploymentMinimumHealthyPercent"], i["deploymentMaximumPercent"]) == (100, 200)
    assert i["waitForSteadyState"] is True and i["launchType"] == "FARGATE"
    assert i["healthCheckGracePeriodSeconds"] == {"dev": 120, "prod": 180}[stack]
    net = i["networkConfiguration"]
    assert net["assignPublicIp"] is False
    private = {f"{r.name}-" for r in run.by_type("aws:ec2/subnet:Subnet") if r.name.startswith("private-")}
    assert len(net["subnets"]) == len(private)
    assert all(any(s.startswith(p) for p in private) for s in net["subnets"])
    assert svc.options["ignore_changes"] == ["desiredCount"]
    assert i["loadBalancers"][0]["containerName"] == "api" and i["loadBalancers"][0]["containerPort"] == 8000
    cluster = run.one("aws:ecs/cluster:Cluster")
    assert cluster.inputs["settings"] == [{"name": "containerInsights",
                                           "value": {"dev": "enabled", "prod": "enhanced"}[stack]}]


@pytest.mark.parametrize("stack", TIERS)
def test_autoscaling(runs, stack):
    run = runs[stack]
    target = run.one("aws:appautoscaling/target:Target")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == {"dev": (1, 2), "prod": (2, 10)}[stack]
    policies = {p.name: p.inputs["targetTrackingScalingPolicyConfiguration"]
                for p in run.by_type("aws:appautoscaling/policy:Policy")}
    assert policies["api-cpu"]["targetValue"] == 70
    assert policies["api-cpu"]["predefinedMetricSpecification"]["predefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    req = policies["api-requests"]
    assert req["targetValue"] == {"dev": 500, "prod": 1000}[stack]
    assert req["predefinedMetricSpecification"]["predefinedMetricType"] == "ALBRequestCountPerTarget"
    assert req["predefinedMetricSpecification"]["resourceLabel"].startswith("app/") and "/targetgroup/" in \
        req["predefinedMetricSpecification"]["resourceLabel"]


@pytest.mark.parametrize("stack", TIERS)
def test_alarms(runs, stack):
    run = runs[stack]
    alarms = {a.name: a.inputs for a in run.by_type(ALARM)}
    topic = run.one("aws:sns/topic:Topic")
    cache = {f"cache-{n}-{m}" for n in ((1, 2) if stack == "prod" else (1,))
             for m in ("engine-cpu-utilization", "memory-usage", "evictions")}
    if stack == "prod":  # a replica: its lag behind the primary
        cache |= {"cache-1-replication-lag", "cache-2-replication-lag"}
    assert set(alarms) == {"error-rate", "api-p95-latency", "api-unhealthy", "api-no-tasks", "api-cpu",
                           "api-memory", "database-free-storage", "database-cpu-utilization",
                           "database-freeable-memory-low", "database-connections"} | cache
    for a in alarms.values():
        assert a["alarmActions"] == a["okActions"] and len(a["alarmActions"]) == 1
        assert a["alarmActions"][0].endswith(f":{topic.inputs['name']}") and topic.inputs["name"] == f"berth-{stack}-alerts"
    err = alarms["error-rate"]
    assert err["threshold"] == 10 and err["evaluationPeriods"] == 5 and err["comparisonOperator"] == "GreaterThanThreshold"
    expr = [q for q in err["metricQueries"] if q.get("returnData")]
    assert len(expr) == 1 and "requests" in expr[0]["expression"]
    assert {q["metric"]["metricName"] for q in err["metricQueries"] if "metric" in q} == {
        "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "RequestCount"}
    assert alarms["api-p95-latency"]["extendedStatistic"] == "p95" and alarms["api-p95-latency"]["threshold"] == 10
    assert alarms["api-unhealthy"]["evaluationPeriods"] == 3 and alarms["api-unhealthy"]["metricName"] == "UnHealthyHostCount"
    assert alarms["api-no-tasks"]["threshold"] == 1 and alarms["api-no-tasks"]["treatMissingData"] == "breaching"
    assert alarms["database-free-storage"]["threshold"] == 1024 ** 3
    assert alarms["database-free-storage"]["comparisonOperator"] == "LessThanThreshold"
    cpu = {"dev": 85, "prod": 80}[stack]
    assert alarms["api-cpu"]["threshold"] == cpu and alarms["database-cpu-utilization"]["threshold"] == cpu
    assert alarms["api-memory"]["threshold"] == cpu
    subs = run.by_type("aws:sns/topicSubscription:TopicSubscription")
    assert [(s.inputs["protocol"], s.inputs["endpoint"]) for s in subs] == (
        [("email", "oncall@example.com")] if stack == "prod" else [])
    body = json.loads(run.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    text = json.dumps(body)
    for metric in ("RequestCount", "HTTPCode_Target_5XX_Count", "CPUUtilization", "MemoryUtilization",
                   "DatabaseConnections", '"p50"', '"p95"', '"p99"'):
        assert metric in text, metric


def test_prod_protections_present_and_dev_absent(runs):
    for stack, on in (("dev", False), ("prod", True)):
        run = runs[stack]
        db = run.one(RDS)
        i = db.inputs
        assert i["multiAz"] is on and i["deletionProtection"] is on
        assert i["skipFinalSnapshot"] is (not on) and ("finalSnapshotIdentifier" in i) is on
        assert i["performanceInsightsEnabled"] is on
        assert ("maxAllocatedStorage" in i) is on
        assert db.options["protect"] is on
        assert i["backupRetentionPeriod"] == (14 if on else 1)
        redis = run.one(REDIS).inputs
        assert redis["automaticFailoverEnabled"] is on and redis["multiAzEnabled"] is on
        assert redis["numCacheClusters"] == (2 if on else 1)
        assert bool(run.by_type("aws:s3/bucket:Bucket")) is on  # ALB access logs
        alb = run.one("aws:lb/loadBalancer:LoadBalancer").inputs
        assert ("accessLogs" in alb) is on
    assert runs["prod"].one(RDS).inputs["backupRetentionPeriod"] >= 7


@pytest.mark.parametrize("stack", TIERS)
def test_database_and_cache_hardening(runs, stack):
    run = runs[stack]
    db = run.one(RDS).inputs
    assert db["storageEncrypted"] is True and db["publiclyAccessible"] is False
    assert is_secret(db["password"])
    params = run.one("aws:rds/parameterGroup:ParameterGroup").inputs
    assert {"name": "rds.force_ssl", "value": "1"} in params["parameters"]
    assert db["parameterGroupName"] == params["name"]
    redis = run.one(REDIS).inputs
    assert redis["transitEncryptionEnabled"] is True and redis["atRestEncryptionEnabled"] is True
    assert is_secret(redis["authToken"])
    urls = {r.inputs["name"].split("/")[-1]: r for r in run.by_type(SECRET)}
    versions = {v.name: v for v in run.by_type("aws:secretsmanager/secretVersion:SecretVersion")}
    assert all(is_secret(v.inputs["secretString"]) for v in versions.values())
    assert unwrap(versions["database-url"].inputs["secretString"]).endswith("?sslmode=require")
    assert unwrap(versions["redis-url"].inputs["secretString"]).startswith("rediss://:")
    assert set(urls) >= {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}


def test_edge(runs):
    prod, dev = runs["prod"], runs["dev"]
    listeners = {l.name: l.inputs for l in prod.by_type("aws:lb/listener:Listener")}
    assert listeners["https"]["protocol"] == "HTTPS" and listeners["https"]["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert listeners["http"]["defaultActions"][0]["type"] == "redirect"
    assert listeners["http"]["defaultActions"][0]["redirect"]["protocol"] == "HTTPS"
    assert listeners["https"]["certificateArn"].startswith("arn:aws:acm:")
    cert = prod.one("aws:acm/certificate:Certificate").inputs
    assert cert["domainName"] == "api.example.com" and cert["validationMethod"] == "DNS"
    records = {r.name: r.inputs for r in prod.by_type("aws:route53/record:Record")}
    assert records["alias"]["zoneId"] == "Z0123456789ABCDEFGHIJ" and records["alias"]["name"] == "api.example.com"
    assert [l.inputs["protocol"] for l in dev.by_type("aws:lb/listener:Listener")] == ["HTTP"]
    for run in (prod, dev):
        tg = run.one("aws:lb/targetGroup:TargetGroup").inputs
        assert tg["healthCheck"]["path"] == "/readiness" and tg["targetType"] == "ip" and tg["port"] == 8000
        acl = run.one("aws:wafv2/webAcl:WebAcl").inputs
        rules = {r["name"]: r for r in acl["rules"]}
        assert rules["rate-limit-per-ip"]["statement"]["rateBasedStatement"]["limit"] == 2000
        assert rules["rate-limit-per-ip"]["statement"]["rateBasedStatement"]["aggregateKeyType"] == "IP"
        assert rules["rate-limit-per-ip"]["action"] == {"block": {}}
        assert rules["AWSManagedRulesCommonRuleSet"]["statement"]["managedRuleGroupStatement"]["vendorName"] == "AWS"
        assoc = run.one("aws:wafv2/webAclAssociation:WebAclAssociation").inputs
        assert assoc["resourceArn"].startswith("arn:aws:elasticloadbalancing:")
        assert run.one("aws:lb/loadBalancer:LoadBalancer").inputs["dropInvalidHeaderFields"] is True


@pytest.mark.parametrize("stack", TIERS)
def test_image_built_from_source_and_run_by_digest(runs, stack):
    run = runs[stack]
    repo = run.one("aws:ecr/repository:Repository").inputs
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert run.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"]
    assert repo["forceDelete"] is (stack == "dev")  # prod's images outlive the stack: rollback needs them
    image = run.one("docker:index/image:Image").inputs
    from infra.config import ROOT
    from infra.source import source_hash
    assert image["imageName"].endswith(f"/berth-{stack}:{source_hash(ROOT / 'app')}")
    assert is_secret(image["registry"])  # the registry login, password included, stays a secret
    _, defs = containers(run)
    assert "@sha256:" in defs["api"]["image"]


@pytest.mark.parametrize("stack", TIERS)
def test_outputs_and_no_secret_anywhere_in_plain_text(runs, stack):
    run = runs[stack]
    assert set(run.outputs) >= {"url", "alb_dns_name", "cluster", "services", "dashboard_url"}
    assert run.secret_outputs == []
    assert run.outputs["url"] == ("https://api.example.com" if stack == "prod"
                                  else f"http://{run.outputs['alb_dns_name']}")
    assert run.outputs["dashboard_url"].startswith("https://us-east-1.console.aws.amazon.com/cloudwatch/")
    secrets = set()
    for rec in run.by_type("aws:secretsmanager/secretVersion:SecretVersion"):
        secrets.add(unwrap(rec.inputs["secretString"]))
    for rec in run.by_type("random:index/randomPassword:RandomPassword"):
        from infra.mocks import FAKE_OUTPUTS
        secrets.add(FAKE_OUTPUTS[rec.type](rec.name, {})["result"])
    assert len(secrets) >= 5
    plan = json.dumps([{"type": r.type, "name": r.name, "inputs": r.masked_inputs()} for r in run.records]
                      + [masked(run.outputs)], default=str)
    for value in secrets:
        assert value not in plan
    assert "mock-ecr-password" not in plan
    if stack == "prod":
        assert any(v.startswith("mock-secret-openai_api_key") for v in secrets)
