"""aws (pulumi-aws 7): RDS, ElastiCache, ECS task definitions, security groups, ALB listeners,
CloudWatch log groups and alarms → facts. Input names are pulumi-aws's (camelCase)."""

from __future__ import annotations

from typing import Iterator, Optional

from berth_policy.facts import (Container, Datastore, Fact, ImageRef, Listener, LogStore, Opening, Resource,
                                alerting_of)
from berth_policy.props import WORLD, at, is_map, items, maybe_json, num, port_set, truthy

PREFIX = "aws:"

RDS = "aws:rds/instance:Instance"
RDS_PARAMETERS = "aws:rds/parameterGroup:ParameterGroup"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_CLUSTER = "aws:elasticache/cluster:Cluster"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
WATCHED = (TASK_DEFINITION, "aws:ecs/service:Service", RDS, REPLICATION_GROUP)

# RDS for PostgreSQL 15 and later defaults rds.force_ssl to 1; earlier majors to 0.
FORCE_SSL_DEFAULT_FROM = 15
# Listener policies that still accept TLS 1.0/1.1 (and the ALB's default when none is set).
MODERN_TLS = ("TLS13", "TLS-1-2")


def _major(version: object) -> int | None:
    return num(str(version).split(".")[0]) if version is not None else None


def _force_ssl(parameters: object) -> bool | None:
    for p in items(parameters):
        if is_map(p) and p.get("name") == "rds.force_ssl":
            return truthy(p.get("value"))
    return None


def _database(r: Resource, whole_stack: bool) -> Fact:
    p = r.props
    in_transit = None
    if not p.get("parameterGroupName"):  # the engine's default group
        major = _major(p.get("engineVersion"))
        in_transit = major is not None and major >= FORCE_SSL_DEFAULT_FROM if p.get("engine") == "postgres" else None
    elif whole_stack:
        for group in r.depends("parameterGroupName"):
            in_transit = _group_forces_ssl(group.props)
    backups = num(p.get("backupRetentionPeriod"))
    backups = 1 if backups is None else backups  # what RDS keeps when the request names no period
    return Datastore(r, "the database", "database",
                     public=truthy(p.get("publiclyAccessible")), at_rest=truthy(p.get("storageEncrypted")),
                     in_transit=in_transit, backup_days=backups, point_in_time_recovery=backups > 0,
                     deletion_protection=truthy(p.get("deletionProtection")))


def _group_forces_ssl(p) -> bool | None:
    family = str(p.get("family") or "")
    if not family.startswith("postgres"):
        return None
    forced = _force_ssl(p.get("parameters"))
    if forced is None:
        major = num(family[len("postgres"):].split(".")[0])
        return major is not None and major >= FORCE_SSL_DEFAULT_FROM
    return forced


def _cache(r: Resource) -> Fact:
    p = r.props
    mode = str(p.get("transitEncryptionMode") or "required").lower()
    # ElastiCache has no public endpoint: a cache is reachable only inside its VPC.
    return Datastore(r, "the cache", "cache", public=False, at_rest=truthy(p.get("atRestEncryptionEnabled")),
                     in_transit=truthy(p.get("transitEncryptionEnabled")) and mode == "required")


def _containers(r: Resource) -> Iterator[Fact]:
    p = r.props
    task_limits = p.get("cpu") is not None and p.get("memory") is not None
    for c in items(maybe_json(p.get("containerDefinitions"))):
        if not is_map(c):
            continue
        name = str(c.get("name"))
        env = {str(e.get("name")): str(e.get("value")) for e in items(c.get("environment")) if is_map(e)}
        yield Container(
            r, f"container {name}", image=c.get("image"), user=str(c.get("user") or ""),
            privileged=truthy(c.get("privileged")),
            serves=bool(items(c.get("portMappings"))), probes=is_map(c.get("healthCheck")),
            limits=task_limits or (c.get("cpu") is not None and c.get("memory") is not None),
            plain_env=env)
        if c.get("image"):
            yield ImageRef(r, f"container {name}'s image", ref=str(c.get("image")))


def _rule_opening(r: Resource, rule, group: Resource | None, lb_groups: set[str] | None) -> Fact | None:
    cidrs = set(items(rule.get("cidrBlocks"))) | set(items(rule.get("ipv6CidrBlocks")))
    cidrs |= {rule.get("cidrIpv4"), rule.get("cidrIpv6")} - {None}
    protocol = str(rule.get("protocol", rule.get("ipProtocol")))
    ports = frozenset({-1}) if protocol in ("-1", "all") else port_set(rule.get("fromPort"), rule.get("toPort"))
    on_lb = None
    if group is not None and lb_groups is not None:
        on_lb = group.urn in lb_groups
    return Opening(r, "the security group rule", world=bool(cidrs & WORLD), ports=ports, on_load_balancer=on_lb)


def _openings(resources: list[Resource], whole_stack: bool) -> Iterator[Fact]:
    lb_groups = None
    if whole_stack:
        lb_groups = {g.urn for lb in resources if lb.type in LOAD_BALANCERS for g in lb.depends("securityGroups")}
    for r in resources:
        if r.type == SECURITY_GROUP:
            for rule in items(r.props.get("ingress")):
                if is_map(rule):
                    yield _rule_opening(r, rule, r, lb_groups)
        elif r.type == INGRESS_RULE or (r.type == SG_RULE and r.props.get("type") == "ingress"):
            groups = r.depends("securityGroupId")
            yield _rule_opening(r, r.props, groups[0] if groups else None, lb_groups if groups else None)


def _listener(r: Resource, whole_stack: bool) -> Fact:
    p = r.props
    protocol = str(p.get("protocol") or "HTTP").upper()
    public = True
    if whole_stack:
        for lb in r.depends("loadBalancerArn"):
            public = not truthy(lb.props.get("internal"))
    if protocol in ("HTTPS", "TLS"):
        policy = str(p.get("sslPolicy") or "ELBSecurityPolicy-2016-08")
        modern = any(marker in policy for marker in MODERN_TLS)
        return Listener(r, f"the {protocol} listener on port {num(p.get('port'))}", public=public, tls=modern,
                        detail="" if modern else f"its TLS policy {policy} still accepts TLS 1.0/1.1")
    actions = [a for a in items(p.get("defaultActions")) if is_map(a)]
    redirects = bool(actions) and all(
        a.get("type") == "redirect" and str(at(a, "redirect.protocol")).upper() == "HTTPS" for a in actions)
    return Listener(r, f"the {protocol} listener on port {num(p.get('port'))}", public=public, tls=redirects,
                    detail="" if redirects else "it serves plain HTTP instead of redirecting to HTTPS")


def _alerting(resources: list[Resource]) -> Optional[Fact]:
    subscribed: dict[str, list[str]] = {}  # topic (URN, or ARN when no dependency is known) → endpoints
    for s in (r for r in resources if r.type == SUBSCRIPTION):
        for key in [t.urn for t in s.depends("topic")] or [str(s.props.get("topic"))]:
            subscribed.setdefault(key, []).append(f"{s.props.get('protocol')}:{s.props.get('endpoint')}")

    def reach(alarm: Resource) -> list[str]:
        keys = [t.urn for t in alarm.depends("alarmActions")] or [str(a) for a in items(alarm.props.get("alarmActions"))]
        return [e for k in keys for e in subscribed.get(k, [])]

    return alerting_of("the stack's CloudWatch alarms",
                       [r for r in resources if r.type == ALARM and items(r.props.get("alarmActions"))], reach,
                       [r for r in resources if r.type in WATCHED])


def facts(resources: list[Resource], whole_stack: bool) -> Iterator[Fact]:
    for r in resources:
        if r.type == RDS:
            yield _database(r, whole_stack)
        elif r.type == RDS_PARAMETERS:
            forced = _group_forces_ssl(r.props)
            if forced is not None:
                yield Datastore(r, "the database's parameter group", "database", in_transit=forced)
        elif r.type in (REPLICATION_GROUP, CACHE_CLUSTER):
            yield _cache(r)
        elif r.type == TASK_DEFINITION:
            yield from _containers(r)
        elif r.type in LISTENERS:
            yield _listener(r, whole_stack)
        elif r.type == LOG_GROUP:
            yield LogStore(r, f"log group {r.props.get('name') or r.name}", retention_days=num(r.props.get("retentionInDays")))
    yield from _openings(resources, whole_stack)
    if whole_stack and (alerting := _alerting(resources)) is not None:
        yield alerting
