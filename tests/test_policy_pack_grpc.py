"""The pack as the Pulumi CLI runs it: `policies/__main__.py` serves pulumi-policy's analyzer over
gRPC, and the engine's calls (GetAnalyzerInfo, Configure with the tier's levels, Analyze one
resource, AnalyzeStack with property dependencies) get berth's rules and levels back."""

from __future__ import annotations

import json
import subprocess
import sys

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from infra.config import ROOT
from infra.policy import config_file, pack

pack()
from berth_policy.rules import RULES  # noqa: E402

MANDATORY, ADVISORY = analyzer_pb2.EnforcementLevel.MANDATORY, analyzer_pb2.EnforcementLevel.ADVISORY


@pytest.fixture(scope="module")
def analyzer():
    process = subprocess.Popen([sys.executable, "__main__.py"], cwd=ROOT / "policies", stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        port = int(process.stdout.readline().strip())  # the plugin protocol: the port, on the first line
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.kill()
        process.wait(timeout=30)


def struct(props: dict) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(props)
    return out


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:prod::berth::{type_}::{name}"


PUBLIC_DB = dict(type="aws:rds/instance:Instance", name="postgres", urn=urn("aws:rds/instance:Instance", "postgres"),
                 properties=struct({"engine": "postgres", "engineVersion": "16", "publiclyAccessible": True,
                                    "storageEncrypted": True, "backupRetentionPeriod": 14, "deletionProtection": True}))


def configure(analyzer, tier: str) -> None:
    """What the CLI sends for `--policy-pack-config policies/config/<tier>.json`: "all" spread over every policy."""
    level = json.loads(config_file(tier).read_text())["all"]
    config = {r.name: analyzer_pb2.PolicyConfig(enforcementLevel=MANDATORY if level == "mandatory" else ADVISORY)
              for r in RULES}
    analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=config))


def test_the_pack_describes_every_rule_mandatory_by_default(analyzer) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "berth"
    assert {(p.name, p.enforcementLevel) for p in info.policies} == {(r.name, MANDATORY) for r in RULES}


def test_a_resource_policy_reports_at_the_tiers_level(analyzer) -> None:
    for tier, level in (("prod", MANDATORY), ("dev", ADVISORY)):
        configure(analyzer, tier)
        found = analyzer.Analyze(analyzer_pb2.AnalyzeRequest(**PUBLIC_DB)).diagnostics
        assert [(d.policyName, d.enforcementLevel) for d in found] == [("berth-data-private", level)], tier
        assert "reachable from the internet" in found[0].message


def test_a_stack_policy_joins_resources_by_property_dependency(analyzer) -> None:
    configure(analyzer, "prod")
    sg, tasks_sg = urn("aws:ec2/securityGroup:SecurityGroup", "alb"), urn("aws:ec2/securityGroup:SecurityGroup", "tasks")
    rule_type = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"

    def resource(type_, name, props, **deps):
        return analyzer_pb2.AnalyzerResource(
            type=type_, name=name, urn=urn(type_, name), properties=struct(props),
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v) for k, v in deps.items()})

    world_443 = {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}
    resources = [
        resource("aws:ec2/securityGroup:SecurityGroup", "alb", {"name": "alb"}),
        resource("aws:ec2/securityGroup:SecurityGroup", "tasks", {"name": "tasks"}),
        resource("aws:lb/loadBalancer:LoadBalancer", "alb", {"internal": False}, securityGroups=[sg]),
        resource(rule_type, "alb-in-443", world_443, securityGroupId=[sg]),
        resource(rule_type, "tasks-in-443", world_443, securityGroupId=[tasks_sg]),
    ]
    found = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources)).diagnostics
    assert [(d.policyName, d.urn, d.enforcementLevel) for d in found if d.policyName == "berth-no-world-ingress"] == [
        ("berth-no-world-ingress", urn(rule_type, "tasks-in-443"), MANDATORY)]
