"""kubernetes (pulumi-kubernetes): workloads, Services, Ingress, NetworkPolicy, ConfigMaps, the
CloudNativePG `Cluster` (postgresql.cnpg.io/v1) and its barman-cloud `ObjectStore`, a Redis
StatefulSet, PrometheusRule and AlertmanagerConfig → facts.

pulumi-kubernetes registers every kind as `kubernetes:<group>/<version>:<Kind>` (custom resources
too) with the manifest's own fields as props. Written from the Kubernetes and CRD schemas before
the kubernetes target landed: tests/test_policy_rules.py feeds it hand-built manifests.
"""

from __future__ import annotations

import re
from typing import Iterator, Optional

from berth_policy.facts import (Container, Datastore, Fact, ImageRef, Listener, Opening, PlainConfig, Resource,
                                alerting_of)
from berth_policy.props import WORLD, at, is_map, items, num, port_spec, truthy

PREFIX = "kubernetes:"

POD_TEMPLATES = {  # kind → where its pod spec is
    "Deployment": "spec.template.spec", "StatefulSet": "spec.template.spec", "DaemonSet": "spec.template.spec",
    "ReplicaSet": "spec.template.spec", "Job": "spec.template.spec", "CronJob": "spec.jobTemplate.spec.template.spec",
    "Pod": "spec",
}
SERVING_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod")
CNPG_CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster"
CNPG_OBJECT_STORE = "kubernetes:barmancloud.cnpg.io/v1:ObjectStore"
SERVICE = "kubernetes:core/v1:Service"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
ALERTMANAGER_CONFIG = "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig"
DATA_PORTS = {5432: "database", 6379: "cache"}
PUBLIC_SERVICE_TYPES = ("LoadBalancer", "NodePort")
REDIS_IMAGE = re.compile(r"(^|/)(redis|valkey)(:|@|$)")


def kind(type_: str) -> str:
    return type_.rsplit(":", 1)[-1]


def _user(pod, container) -> str:
    """The UID the container runs as: explicit, or "nonroot" when only runAsNonRoot is set."""
    for ctx in (at(container, "securityContext"), at(pod, "securityContext")):
        if is_map(ctx) and ctx.get("runAsUser") is not None:
            return str(num(ctx.get("runAsUser")))
    for ctx in (at(container, "securityContext"), at(pod, "securityContext")):
        if is_map(ctx) and truthy(ctx.get("runAsNonRoot")):
            return "nonroot"
    return ""


def _workload(r: Resource) -> Iterator[Fact]:
    pod = at(r.props, POD_TEMPLATES[kind(r.type)])
    if not is_map(pod):
        return
    containers = [(c, False) for c in items(pod.get("initContainers")) if is_map(c)]
    containers += [(c, kind(r.type) in SERVING_KINDS) for c in items(pod.get("containers")) if is_map(c)]
    for c, may_serve in containers:
        name = c.get("name")
        limits, requests = at(c, "resources.limits"), at(c, "resources.requests")
        serves = may_serve and bool(items(c.get("ports")))
        env = {str(e.get("name")): str(e.get("value")) for e in items(c.get("env"))
               if is_map(e) and e.get("value") is not None and not e.get("valueFrom")}
        yield Container(
            r, f"container {name}", image=c.get("image"), user=_user(pod, c),
            privileged=truthy(at(c, "securityContext.privileged")), host_network=truthy(pod.get("hostNetwork")),
            serves=serves, probes=bool(c.get("readinessProbe") and c.get("livenessProbe")),
            limits=is_map(limits) and limits.get("memory") is not None
            and (limits.get("cpu") is not None or (is_map(requests) and requests.get("cpu") is not None)),
            plain_env=env)
        if c.get("image"):
            yield ImageRef(r, f"container {name}'s image", ref=str(c.get("image")))
        for port in items(c.get("ports")):
            if is_map(port) and port.get("hostPort"):
                yield Opening(r, f"container {name}'s host port", world=True,
                              ports=frozenset({num(port.get("hostPort"))}), on_load_balancer=False)
        if REDIS_IMAGE.search(str(c.get("image") or "")):
            args = [str(a) for a in items(c.get("command")) + items(c.get("args"))]
            words = " ".join(args).split()
            tls_only = "--tls-port" in words and any(
                w == "--port" and i + 1 < len(words) and words[i + 1] == "0" for i, w in enumerate(words))
            yield Datastore(r, "the cache", "cache", in_transit=tls_only)


def _days(retention: object) -> Optional[int]:
    """CloudNativePG's retention policy: "30d", "4w", "3m"."""
    found = re.fullmatch(r"\s*(\d+)\s*([dwm])\s*", str(retention or ""))
    if not found:
        return None
    return int(found[1]) * {"d": 1, "w": 7, "m": 30}[found[2]]


def _cnpg(r: Resource) -> Fact:
    spec = r.props.get("spec") or {}
    exposed = [s for s in items(at(spec, "managed.services.additional")) if is_map(s)
               and at(s, "serviceTemplate.spec.type") in PUBLIC_SERVICE_TYPES]
    hba = " ".join(str(line) for line in items(at(spec, "postgresql.pg_hba")))
    in_transit = bool(re.search(r"\bhostnossl\s+all\s+all\s+\S+\s+reject\b", hba))
    store = at(spec, "backup.barmanObjectStore")
    plugin_archiver = any(is_map(p) and truthy(p.get("isWALArchiver")) for p in items(spec.get("plugins")))
    days = _days(at(spec, "backup.retentionPolicy")) if store else None
    if days is None and store:
        days = 0  # archived, never pruned by policy: not a retention a restore can count on
    return Datastore(
        r, "the database", "database", public=bool(exposed),
        at_rest=None,  # the storage class's property, not the manifest's
        in_transit=in_transit,
        # With the barman-cloud plugin the retention lives on the ObjectStore (its own fact).
        backup_days=None if plugin_archiver and not store else (days or 0),
        point_in_time_recovery=bool(store) or plugin_archiver,
        deletion_protection=r.protect)  # Kubernetes has none of its own: Pulumi's `protect`


def _object_store(r: Resource) -> Fact:
    days = _days(at(r.props, "spec.retentionPolicy"))
    return Datastore(r, "the database's backup store", "database", backup_days=days or 0,
                     point_in_time_recovery=True)


def _service(r: Resource) -> Iterator[Fact]:
    spec = r.props.get("spec") or {}
    if spec.get("type") not in PUBLIC_SERVICE_TYPES:
        return
    ports = frozenset(num(p.get("port")) for p in items(spec.get("ports")) if is_map(p))
    ranges = set(items(spec.get("loadBalancerSourceRanges")))
    world = not ranges or bool(ranges & WORLD)
    # The cluster's ingress controller is the load balancer; a Service of its own bypasses it.
    yield Opening(r, f"the {spec.get('type')} service", world=world, ports=ports, on_load_balancer=False)
    for port, what in DATA_PORTS.items():
        if port in ports and world:
            yield Datastore(r, f"the {what}", what, public=True)


def _network_policy(r: Resource) -> Iterator[Fact]:
    for rule in items(at(r.props, "spec.ingress")):
        if not is_map(rule):
            continue
        world = any(is_map(f) and at(f, "ipBlock.cidr") in WORLD for f in items(rule.get("from")))
        if not world:
            continue
        ports = frozenset().union(*(port_spec(p.get("port")) for p in items(rule.get("ports")) if is_map(p))) \
            or frozenset({-1})
        yield Opening(r, "the network policy's ingress rule", world=True, ports=ports, on_load_balancer=False)


def _ingress(r: Resource) -> Fact:
    spec = r.props.get("spec") or {}
    annotations = at(r.props, "metadata.annotations") or {}
    hosts = {rule.get("host") for rule in items(spec.get("rules")) if is_map(rule)}
    covered = {h for t in items(spec.get("tls")) if is_map(t) for h in items(t.get("hosts"))}
    redirect_off = str(annotations.get("nginx.ingress.kubernetes.io/ssl-redirect", "")).lower() == "false"
    tls = bool(covered) and hosts <= covered and not redirect_off
    detail = ("ssl-redirect is off: plain HTTP is served" if redirect_off
              else f"hosts without TLS: {', '.join(sorted(str(h) for h in hosts - covered))}" if covered
              else "no TLS section")
    return Listener(r, "the ingress", tls=tls, detail="" if tls else detail)


def _alerting(resources: list[Resource]) -> Optional[Fact]:
    """Alertmanager routes every alert of the namespace to an AlertmanagerConfig's receivers."""
    targets = []
    for config in (r for r in resources if r.type == ALERTMANAGER_CONFIG):
        for receiver in items(at(config.props, "spec.receivers")):
            if not is_map(receiver):
                continue
            for key, value in receiver.items():
                for target in items(value) if key.endswith("Configs") else []:
                    where = target.get("to") if is_map(target) else None
                    targets.append(f"{key[:-len('Configs')]}:{where or receiver.get('name')}")
    alerts = [rule_set for rule_set in resources if rule_set.type == PROMETHEUS_RULE
              for g in items(at(rule_set.props, "spec.groups")) if is_map(g)
              for rule in items(g.get("rules")) if is_map(rule) and rule.get("alert")]
    return alerting_of("the stack's PrometheusRules", alerts, lambda _: targets,
                       [r for r in resources if kind(r.type) in ("Deployment", "StatefulSet") or r.type == CNPG_CLUSTER])


def facts(resources: list[Resource], whole_stack: bool) -> Iterator[Fact]:
    for r in resources:
        k = kind(r.type)
        if k in POD_TEMPLATES and r.type.startswith(("kubernetes:apps/", "kubernetes:batch/", "kubernetes:core/")):
            yield from _workload(r)
        elif r.type == CNPG_CLUSTER:
            yield _cnpg(r)
            image = at(r.props, "spec.imageName")
            if image:
                yield ImageRef(r, "the database's image", ref=str(image))
        elif r.type == CNPG_OBJECT_STORE:
            yield _object_store(r)
        elif r.type == SERVICE:
            yield from _service(r)
        elif r.type == NETWORK_POLICY:
            yield from _network_policy(r)
        elif r.type == INGRESS:
            yield _ingress(r)
        elif r.type == CONFIG_MAP:
            data = r.props.get("data") or {}
            yield PlainConfig(r, f"config map {at(r.props, 'metadata.name') or r.name}",
                              values={str(k): str(v) for k, v in data.items()})
    if whole_stack:
        if (alerting := _alerting(resources)) is not None:
            yield alerting
