"""berth's production rules as CrossGuard resource policies.

Each rule reads a resource's inputs (props) the way the engine hands them to a policy pack:
camelCase keys, secrets already unwrapped.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterator

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

WORLD = {"0.0.0.0/0", "::/0"}
EDGE_PORTS = {80, 443}
CREDENTIAL = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIAL|DATABASE_URL|REDIS_URL)", re.I)


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def _open_to_world(rule: dict[str, Any]) -> bool:
    cidrs = set(rule.get("cidrBlocks") or []) | set(rule.get("ipv6CidrBlocks") or [])
    cidrs |= {rule.get("cidrIpv4"), rule.get("cidrIpv6")} - {None}
    return bool(cidrs & WORLD)


def _ports(rule: dict[str, Any]) -> set[int]:
    low, high = _int(rule.get("fromPort")), _int(rule.get("toPort"))
    if str(rule.get("protocol", rule.get("ipProtocol"))) == "-1" or high - low > 1024:
        return {-1}  # every port
    return set(range(low, high + 1))


def public_ingress(type_: str, props: dict[str, Any]) -> Iterator[str]:
    rules: list[dict[str, Any]] = []
    if type_ == "aws:ec2/securityGroup:SecurityGroup":
        rules = list(props.get("ingress") or [])
    elif type_ in ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",):
        rules = [props]
    elif type_ == "aws:ec2/securityGroupRule:SecurityGroupRule" and props.get("type") == "ingress":
        rules = [props]
    for rule in rules:
        if _open_to_world(rule) and not _ports(rule) <= EDGE_PORTS:
            yield f"ingress from the internet on ports {sorted(_ports(rule))}: only 80 and 443 may be open, and only on the load balancer"


def private_encrypted_data(type_: str, props: dict[str, Any]) -> Iterator[str]:
    if type_ == "aws:rds/instance:Instance":
        if props.get("publiclyAccessible"):
            yield "the database is publicly accessible"
        if not props.get("storageEncrypted"):
            yield "the database's storage is not encrypted"
        if _int(props.get("backupRetentionPeriod")) < 1:
            yield "the database keeps no automated backups"
    if type_ == "aws:elasticache/replicationGroup:ReplicationGroup":
        if not props.get("atRestEncryptionEnabled"):
            yield "the cache is not encrypted at rest"
        if not props.get("transitEncryptionEnabled"):
            yield "the cache accepts unencrypted connections"
    if type_ == "docker:index/container:Container":
        aliases = {a for n in props.get("networksAdvanced") or [] for a in n.get("aliases") or []}
        if aliases & {"database", "cache"} and props.get("ports"):
            yield "the database or cache container publishes a port on the host"


def no_plaintext_credentials(type_: str, props: dict[str, Any]) -> Iterator[str]:
    if type_ != "aws:ecs/taskDefinition:TaskDefinition":
        return
    definitions = props.get("containerDefinitions")
    if isinstance(definitions, str):
        definitions = json.loads(definitions)
    for container in definitions or []:
        for entry in container.get("environment") or []:
            if CREDENTIAL.search(str(entry.get("name", ""))):
                yield f"container {container.get('name')} gets {entry['name']} as a plain environment value; use `secrets`"


def hardened_containers(type_: str, props: dict[str, Any]) -> Iterator[str]:
    if type_ == "docker:index/container:Container":
        if props.get("privileged"):
            yield "the container is privileged"
        if props.get("networkMode") == "host":
            yield "the container shares the host's network"
    if type_ == "aws:ecs/taskDefinition:TaskDefinition":
        definitions = props.get("containerDefinitions")
        if isinstance(definitions, str):
            definitions = json.loads(definitions)
        for container in definitions or []:
            if container.get("privileged"):
                yield f"container {container.get('name')} is privileged"
            if str(container.get("user", "")).split(":")[0] in ("", "0", "root"):
                yield f"container {container.get('name')} runs as root"


Check = Callable[[str, dict[str, Any]], Iterator[str]]

CHECKS: dict[str, tuple[str, Check]] = {
    "berth-no-public-ingress": ("Only the load balancer is reachable from the internet, on 80/443.", public_ingress),
    "berth-private-encrypted-data": ("Databases and caches are private, encrypted and backed up.", private_encrypted_data),
    "berth-no-plaintext-credentials": ("Credentials reach containers as secrets, never as plain env.", no_plaintext_credentials),
    "berth-hardened-containers": ("Containers are not privileged and do not run as root.", hardened_containers),
}


def _policy(name: str, description: str, check: Check) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in check(args.resource_type, dict(args.props)):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=EnforcementLevel.MANDATORY
    )


POLICIES = [_policy(name, description, check) for name, (description, check) in CHECKS.items()]
