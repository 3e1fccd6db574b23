"""gcp (pulumi-gcp): Cloud SQL, Memorystore, Cloud Run v2 (services, worker pools, jobs), compute
firewall and HTTP(S) proxies, Cloud Logging buckets, Cloud Monitoring alert policies → facts.

Input names are pulumi-gcp's (camelCase; a Terraform block of at most one item is an object, which
`one()` also accepts as a one-item list). Written from the provider's type tokens and inputs before
the gcp target landed: tests/test_policy_rules.py feeds it hand-built props.
"""

from __future__ import annotations

from typing import Iterator, Optional

from berth_policy.facts import Container, Datastore, Fact, ImageRef, Listener, Opening, Resource, alerting_of
from berth_policy.props import WORLD, at, is_map, items, num, one, port_spec, truthy

PREFIX = "gcp:"

SQL = "gcp:sql/databaseInstance:DatabaseInstance"
REDIS = "gcp:redis/instance:Instance"
RUN_SERVICE = "gcp:cloudrunv2/service:Service"
RUN_POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
RUN_JOB = "gcp:cloudrunv2/job:Job"
FIREWALL = "gcp:compute/firewall:Firewall"
HTTP_PROXY = "gcp:compute/targetHttpProxy:TargetHttpProxy"
HTTPS_PROXY = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
ALERT_POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
WATCHED = (RUN_SERVICE, RUN_POOL, SQL, REDIS)

ENCRYPTED_ONLY = ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED")
# Only the load balancer (or VPC-internal callers) may reach a service's own run.app URL.
PRIVATE_INGRESS = ("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", "INGRESS_TRAFFIC_INTERNAL_ONLY")
BACKUPS_KEPT_BY_DEFAULT = 7  # Cloud SQL keeps 7 automated backups (one a day) unless told otherwise


def _sql(r: Resource) -> Fact:
    s = one(r.props.get("settings")) or {}
    ip = one(at(s, "ipConfiguration")) or {}
    ipv4 = ip.get("ipv4Enabled") if is_map(ip) else None
    backup = one(at(s, "backupConfiguration")) or {}
    enabled = truthy(backup.get("enabled")) if is_map(backup) else False
    kept = num(at(backup, "backupRetentionSettings.retainedBackups"))
    unit = str(at(backup, "backupRetentionSettings.retentionUnit") or "COUNT")
    days = (kept if kept is not None else BACKUPS_KEPT_BY_DEFAULT) if enabled and unit == "COUNT" else 0
    return Datastore(
        r, "the database", "database",
        public=True if ipv4 is None else truthy(ipv4),  # Cloud SQL gives a public IP unless told not to
        at_rest=True,  # Cloud SQL always encrypts storage (Google-managed or customer key)
        in_transit=str(ip.get("sslMode") if is_map(ip) else "") in ENCRYPTED_ONLY
        or truthy(ip.get("requireSsl") if is_map(ip) else False),
        backup_days=days, point_in_time_recovery=enabled and truthy(backup.get("pointInTimeRecoveryEnabled")),
        deletion_protection=truthy(at(s, "deletionProtectionEnabled")))


def _redis(r: Resource) -> Fact:
    # Memorystore has private endpoints only, and encrypts storage at rest always.
    return Datastore(r, "the cache", "cache", public=False, at_rest=True,
                     in_transit=str(r.props.get("transitEncryptionMode")) == "SERVER_AUTHENTICATION")


def _containers(r: Resource, containers, service: bool) -> Iterator[Fact]:
    containers = [c for c in items(containers) if is_map(c)]
    for c in containers:
        name = c.get("name") or r.name
        limits = at(c, "resources.limits")
        env = {str(e.get("name")): str(e.get("value")) for e in items(c.get("envs"))
               if is_map(e) and e.get("value") is not None and not e.get("valueSource")}
        # Of a service's containers, the one with a port takes the requests (a lone one always does).
        serves = service and (bool(items(c.get("ports"))) or len(containers) == 1)
        yield Container(
            r, f"container {name}", image=c.get("image"),
            user=None,  # Cloud Run runs the image's USER: checked on the Dockerfile (hadolint, checkov)
            serves=serves, probes=bool(c.get("startupProbe") or c.get("livenessProbe")),
            limits=is_map(limits) and limits.get("cpu") is not None and limits.get("memory") is not None,
            plain_env=env)
        if c.get("image"):
            yield ImageRef(r, f"container {name}'s image", ref=str(c.get("image")))


def _run_service(r: Resource) -> Iterator[Fact]:
    yield from _containers(r, at(r.props, "template.containers"), service=True)
    ingress = str(r.props.get("ingress") or "INGRESS_TRAFFIC_ALL")
    yield Opening(r, "the Cloud Run service's own URL", world=ingress not in PRIVATE_INGRESS,
                  ports=frozenset({443}), on_load_balancer=False)


def _firewall(r: Resource) -> Iterator[Fact]:
    p = r.props
    if str(p.get("direction") or "INGRESS") != "INGRESS" or truthy(p.get("disabled")):
        return
    world = bool(set(items(p.get("sourceRanges"))) & WORLD)
    for allow in items(p.get("allows")):
        if not is_map(allow):
            continue
        ports = frozenset().union(*(port_spec(x) for x in items(allow.get("ports")))) or frozenset({-1})
        if str(allow.get("protocol")) in ("all", "icmp"):
            ports = frozenset({-1})
        # GCP's HTTPS load balancer needs no world-open rule (its front ends are not in the VPC).
        yield Opening(r, "the firewall rule", world=world, ports=ports, on_load_balancer=False)


def _proxies(resources: list[Resource]) -> Iterator[Fact]:
    for r in resources:
        if r.type == HTTP_PROXY:
            maps = r.depends("urlMap")
            redirects = bool(maps) and all(
                truthy(at(m.props, "defaultUrlRedirect.httpsRedirect")) and not m.props.get("defaultService")
                and not items(m.props.get("pathMatchers")) for m in maps)
            yield Listener(r, "the HTTP proxy", tls=redirects,
                           detail="" if redirects else "its URL map serves traffic instead of redirecting to HTTPS")
        elif r.type == HTTPS_PROXY:
            policies = r.depends("sslPolicy")
            minimum = str(policies[0].props.get("minTlsVersion") or "TLS_1_0") if policies else "TLS_1_0"
            modern = minimum in ("TLS_1_2", "TLS_1_3")
            yield Listener(r, "the HTTPS proxy", tls=modern,
                           detail="" if modern else f"its SSL policy accepts {minimum} (set an SSL policy with "
                                                    "min_tls_version TLS_1_2)")


def _alerting(resources: list[Resource]) -> Optional[Fact]:
    channels = {c.urn: c for c in resources if c.type == CHANNEL and c.props.get("enabled") is not False}

    def reach(policy: Resource) -> list[str]:
        reached = [channels[c.urn] for c in policy.depends("notificationChannels") if c.urn in channels]
        return [f"{c.props.get('type')}:{(c.props.get('labels') or {}).get('email_address') or c.props.get('displayName')}"
                for c in reached]

    return alerting_of("the stack's Cloud Monitoring alert policies",
                       [r for r in resources if r.type == ALERT_POLICY and r.props.get("enabled") is not False], reach,
                       [r for r in resources if r.type in WATCHED])


def facts(resources: list[Resource], whole_stack: bool) -> Iterator[Fact]:
    for r in resources:
        if r.type == SQL:
            yield _sql(r)
        elif r.type == REDIS:
            yield _redis(r)
        elif r.type == RUN_SERVICE:
            yield from _run_service(r)
        elif r.type == RUN_POOL:
            yield from _containers(r, at(r.props, "template.containers"), service=False)
        elif r.type == RUN_JOB:
            yield from _containers(r, at(r.props, "template.template.containers"), service=False)
        elif r.type == FIREWALL:
            yield from _firewall(r)
    if whole_stack:
        yield from _proxies(resources)
        if (alerting := _alerting(resources)) is not None:
            yield alerting
