"""The policy pack catches what it is for, and every shipped stack passes it."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker
import pytest

from infra import mocks, policy


def violations_of(program):
    run = mocks.run_program("policy", {}, program=program)
    return {(v.policy, v.urn.rsplit("::", 1)[-1]) for v in policy.evaluate(run)}


def bad_resources():
    aws.ec2.SecurityGroup("ssh-open", ingress=[aws.ec2.SecurityGroupIngressArgs(
        protocol="tcp", from_port=22, to_port=22, cidr_blocks=["0.0.0.0/0"])])
    aws.ec2.SecurityGroup("https-open", ingress=[aws.ec2.SecurityGroupIngressArgs(
        protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"])])
    aws.vpc.SecurityGroupIngressRule("all-open", security_group_id="sg-1", ip_protocol="-1", cidr_ipv4="0.0.0.0/0")
    aws.rds.Instance("public-db", instance_class="db.t4g.micro", engine="postgres", publicly_accessible=True,
                     storage_encrypted=False, backup_retention_period=0)
    aws.rds.Instance("good-db", instance_class="db.t4g.micro", engine="postgres", storage_encrypted=True,
                     backup_retention_period=7)
    aws.elasticache.ReplicationGroup("plain-cache", description="x", transit_encryption_enabled=False)
    aws.ecs.TaskDefinition("leaky", family="leaky", container_definitions=json.dumps([
        {"name": "api", "image": "x", "user": "0", "environment": [{"name": "DB_PASSWORD", "value": "hunter2"}]}]))
    docker.Container("exposed-db", image="postgres", ports=[docker.ContainerPortArgs(internal=5432, external=5432)],
                     networks_advanced=[docker.ContainerNetworksAdvancedArgs(name="n", aliases=["database"])])
    docker.Container("root-ish", image="x", privileged=True, network_mode="host")


def test_each_rule_reports_the_resource_that_breaks_it():
    found = violations_of(bad_resources)
    assert found == {
        ("berth-no-public-ingress", "ssh-open"),
        ("berth-no-public-ingress", "all-open"),
        ("berth-private-encrypted-data", "public-db"),
        ("berth-private-encrypted-data", "plain-cache"),
        ("berth-private-encrypted-data", "exposed-db"),
        ("berth-no-plaintext-credentials", "leaky"),
        ("berth-hardened-containers", "leaky"),
        ("berth-hardened-containers", "root-ish"),
    }


@pytest.mark.parametrize("stack", mocks.shipped_stacks())
def test_shipped_stacks_pass_the_pack(stack):
    assert policy.evaluate(mocks.run_stack(stack)) == []
