"""The aws target under other configs: a worker added by config alone, a pinned image, an existing
VPC, a given certificate, and bad aws config refused with a clear Problem before any resource."""

from __future__ import annotations

import copy
import json

import pytest

from infra.mocks import read_stack_config, run_program
from tests.conftest import refused

DIGEST = "123456789012.dkr.ecr.us-east-1.amazonaws.com/berth-dev@sha256:" + "ab" * 32
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f6b7f2e-1a2b-4c3d-8e9f-0123456789ab"


def config(stack: str, **overrides) -> dict:
    out = copy.deepcopy(read_stack_config(stack))
    for key, value in overrides.items():
        out[f"berth:{key}"] = value
    return out


@pytest.fixture(scope="module")
def worker_run():
    return run_program("dev", config("dev", services={
        "api": {"kind": "web"},
        "worker": {"kind": "worker", "command": ["python", "-m", "app", "worker"], "cpu": 0.5, "memory": 1024},
    }))


def test_extra_worker_plans_without_a_load_balancer_target(worker_run):
    run = worker_run
    services = {r.parent.rsplit("::", 1)[-1]: r.inputs for r in run.by_type("aws:ecs/service:Service")}
    assert set(services) == {"api", "worker"}
    assert services["worker"]["name"] == "berth-dev-worker"
    assert "loadBalancers" not in services["worker"] and "healthCheckGracePeriodSeconds" not in services["worker"]
    assert services["worker"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert len(services["api"]["loadBalancers"]) == 1
    assert [r.name for r in run.by_type("aws:lb/targetGroup:TargetGroup")] == ["api"]
    assert not [r for r in run.by_type("aws:lb/listenerRule:ListenerRule")]
    worker_td = [r for r in run.by_type("aws:ecs/taskDefinition:TaskDefinition") if r.parent.endswith("::worker")][0]
    assert (worker_td.inputs["cpu"], worker_td.inputs["memory"]) == ("512", "1024")
    policies = [r.name for r in run.by_type("aws:appautoscaling/policy:Policy") if r.parent.endswith("::worker")]
    assert policies == ["worker-cpu"]
    # Only the web service's port is open from the ALB.
    ports = {int(r.inputs["fromPort"]) for r in run.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
             if r.name.startswith("tasks-in-")}
    assert ports == {8000}


def test_pinned_image_runs_as_given_without_a_build():
    run = run_program("dev", config("dev", image={"ref": DIGEST}))
    assert not run.by_type("docker:index/image:Image")
    defs = json.loads(run.one("aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])
    assert {c["image"] for c in defs} == {DIGEST}


def test_existing_vpc_and_given_certificate():
    run = run_program("dev", config(
        "dev", domain="dev.example.com",
        aws={"vpc_id": "vpc-0a1b2c3d4e5f67890", "certificate_arn": CERT,
             "public_subnet_ids": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"],
             "private_subnet_ids": ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]}))
    assert not run.by_type("aws:ec2/vpc:Vpc") and not run.by_type("aws:ec2/subnet:Subnet")
    assert not run.by_type("aws:ec2/natGateway:NatGateway")
    assert {r.inputs["vpcId"] for r in run.by_type("aws:ec2/securityGroup:SecurityGroup")} == {"vpc-0a1b2c3d4e5f67890"}
    net = run.one("aws:ecs/service:Service").inputs["networkConfiguration"]
    assert net["subnets"] == ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
    assert run.one("aws:lb/loadBalancer:LoadBalancer").inputs["subnets"] == [
        "subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
    assert not run.by_type("aws:acm/certificate:Certificate")
    https = run.one("aws:lb/listener:Listener", "https").inputs
    assert https["certificateArn"] == CERT
    assert run.outputs["url"] == "https://dev.example.com"
    # The VPC's ranges come from AWS (getVpc, every associated block), not from config.
    defs = json.loads(run.one("aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])
    env = {e["name"]: e["value"] for e in defs[0]["environment"]}
    assert env["FORWARDED_ALLOW_IPS"] == "100.64.0.0/16,172.31.0.0/16"
    # berth does not touch the routing of a VPC it did not make.
    assert not run.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")


def test_flow_logs_on_an_existing_vpc():
    run = run_program("dev", config("dev", aws={
        "vpc_id": "vpc-0a1b2c3d4e5f67890", "flow_logs": True,
        "public_subnet_ids": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"],
        "private_subnet_ids": ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]}))
    assert run.one("aws:ec2/flowLog:FlowLog").inputs["vpcId"] == "vpc-0a1b2c3d4e5f67890"


BAD = [
    ("dev", {"service_defaults": {"cpu": 0.25, "memory": 4096}}, "services.api.memory", "MiB 512, 1024, 2048"),
    ("dev", {"service_defaults": {"cpu": 3}}, "services.api.cpu", "0.25, 0.5, 1, 2, 4, 8, 16"),
    ("dev", {"log_retention_days": 10}, "log_retention_days", "CloudWatch Logs retention"),
    ("dev", {"aws": {"vpc_id": "vpc-12345"}}, "aws.vpc_id", "a VPC id"),
    ("dev", {"domain": "dev.example.com", "aws": {"certificate_arn": "arn:aws:acm:certificate/nope"}},
     "aws.certificate_arn", "an ACM certificate ARN"),
    ("dev", {"aws": {"zones": 7}}, "aws.zones", "≤ 6"),
    ("dev", {"aws": {"nat_gateways": "two"}}, "aws.nat_gateways", "one of"),
    ("dev", {"domain": "dev.example.com"}, "aws.zone_id", "a Route53 zone id"),
    ("prod", {"domain": None}, "domain", "HTTPS"),
    ("dev", {"aws": {"secret_recovery_days": 3}}, "aws.secret_recovery_days", "0 (delete at once) or 7 to 30"),
    ("dev", {"aws": {"alb_idle_timeout_seconds": 4001}}, "aws.alb_idle_timeout_seconds", "≤ 4000"),
    ("dev", {"aws": {"kms_key_deletion_days": 3}}, "aws.kms_key_deletion_days", "≥ 7"),
    ("dev", {"aws": {"alarm_database_connections": {"small": 0}}}, "aws.alarm_database_connections",
     "a connection count ≥ 1"),
]


@pytest.mark.parametrize("stack,overrides,path,expected", BAD, ids=[b[2] for b in BAD])
def test_bad_aws_config_is_refused_before_any_resource(stack, overrides, path, expected):
    cfg = config(stack)
    for key, value in overrides.items():
        if value is None:
            cfg.pop(f"berth:{key}", None)
        else:
            cfg[f"berth:{key}"] = value
    problems, records = refused(stack, cfg)
    assert records == []
    matching = [p for p in problems if p.path == path]
    assert matching, [str(p) for p in problems]
    assert expected in matching[0].expected, str(matching[0])


def test_problem_reads_as_key_expected_found():
    problems, _ = refused("dev", config("dev", service_defaults={"cpu": 0.25, "memory": 4096}))
    assert str(problems[0]) == ("berth:services.api.memory: expected for 0.25 vCPU on Fargate, "
                                "MiB 512, 1024, 2048, found 4096")


def test_second_web_service_gets_its_own_target_group_and_path():
    run = run_program("dev", config("dev", services={
        "api": {"kind": "web"}, "admin": {"kind": "web", "port": 8001}}))
    assert sorted(r.name for r in run.by_type("aws:lb/targetGroup:TargetGroup")) == ["admin", "api"]
    rule = run.one("aws:lb/listenerRule:ListenerRule", "admin").inputs
    assert rule["conditions"] == [{"pathPattern": {"values": ["/admin/*"]}}]
    ports = sorted(int(r.inputs["fromPort"]) for r in
                   run.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if r.name.startswith("tasks-in-"))
    assert ports == [8000, 8001]
