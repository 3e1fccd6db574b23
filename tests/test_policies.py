"""The policy pack as the plan runs it: real pulumi-aws/pulumi-docker resources under mocks, the
tier's enforcement config, and every shipped stack."""

import json

import pulumi_aws as aws
import pulumi_docker as docker
import pytest

from infra import mocks, policy


def bad_resources():
    aws.ec2.SecurityGroup("ssh-open", ingress=[aws.ec2.SecurityGroupIngressArgs(
        protocol="tcp", from_port=22, to_port=22, cidr_blocks=["0.0.0.0/0"])])
    aws.rds.Instance("public-db", instance_class="db.t4g.micro", engine="postgres", engine_version="16",
                     publicly_accessible=True, storage_encrypted=True, backup_retention_period=14,
                     deletion_protection=True)
    aws.ecs.TaskDefinition("leaky", family="leaky", cpu="256", memory="512", container_definitions=json.dumps([
        {"name": "api", "image": "x@sha256:" + "0" * 64, "user": "10001",
         "environment": [{"name": "DB_PASSWORD", "value": "hunter2"}]}]))
    docker.Container("root-ish", image="x", privileged=True, user="10001", memory=256)


def run_of(program):
    return mocks.run_program("policy", {}, program=program)


def test_each_violation_names_its_rule_and_resource():
    found = {(v.policy, v.urn.rsplit("::", 1)[-1]) for v in policy.evaluate(run_of(bad_resources), "prod")}
    assert found == {
        ("berth-no-world-ingress", "ssh-open"),
        ("berth-data-private", "public-db"),
        ("berth-no-plaintext-secrets", "leaky"),
        ("berth-containers-hardened", "root-ish"),
        ("berth-alerting", "leaky"),  # aws resources to watch, and no alarm at all
    }


def test_the_tier_config_sets_the_enforcement_level():
    run = run_of(bad_resources)
    assert {v.level for v in policy.evaluate(run, "prod")} == {"mandatory"}
    assert {v.level for v in policy.evaluate(run, "dev")} == {"advisory"}
    assert {v.level for v in policy.evaluate(run, "no-such-tier")} == {"mandatory"}  # unclassified: held to prod
    assert policy.enforcement("prod") == {p.name: "mandatory" for p in policy.pack().POLICIES}


@pytest.mark.parametrize("stack", mocks.shipped_stacks())
def test_shipped_stacks_hold_every_mandatory_rule(stack):
    run = mocks.run_stack(stack)
    assert policy.mandatory(policy.evaluate(run, policy.tier_of(run))) == []
