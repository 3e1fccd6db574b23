"""Kubernetes's rules for the object names and labels berth sets, and the names themselves.

Every object lives in the stack's namespace and is named `<project>-<stack>-<what>`: per service
`<prefix>-<service>` (≤ 27 + 1 + 24 = 52 characters), stack-level objects after what they are
(`<prefix>-postgres`, `<prefix>-redis`, …). The plan (infra/engine.py) refuses a name that breaks
a rule below or that one namespace would hold twice.

Limits (kubernetes.io "Object Names and IDs"; apimachinery validation): most kinds take an RFC 1123
subdomain (≤ 253); Namespaces an RFC 1123 label (≤ 63); Services an RFC 1035 label (≤ 63, a letter
first); a Deployment's name ends up in its pods' hostnames and a Job's in the `job-name` label (≤ 63);
a StatefulSet's name plus an 11-character hash is its pods' `controller-revision-hash` label (≤ 52);
a CloudNativePG Cluster is an RFC 1035 label of at most 50 (its admission webhook).
"""

from __future__ import annotations


from infra.engine import NameRule

LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"  # RFC 1123 label
DNS1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"  # RFC 1035 label
SUBDOMAIN = rf"{LABEL}(\.{LABEL})*"  # RFC 1123 subdomain

NS = ("metadata.namespace",)
_LABEL_RULE = "RFC 1123 label: ≤ 63 lower-case letters, digits and '-', alphanumeric at both ends"
_SUBDOMAIN_RULE = "RFC 1123 subdomain: ≤ 253 lower-case letters, digits, '-' and '.'"


def _label(max_len: int = 63, pattern: str = LABEL, what: str = _LABEL_RULE) -> NameRule:
    return NameRule("metadata.name", max_len, pattern, what, unique_within=NS)


def _subdomain() -> NameRule:
    return NameRule("metadata.name", 253, SUBDOMAIN, _SUBDOMAIN_RULE, unique_within=NS)


PHYSICAL_NAMES = {
    "kubernetes:core/v1:Namespace": NameRule("metadata.name", 63, LABEL, _LABEL_RULE),
    "kubernetes:core/v1:Service": _label(pattern=DNS1035, what="RFC 1035 label: ≤ 63, a letter first"),
    "kubernetes:core/v1:ServiceAccount": _subdomain(),
    "kubernetes:core/v1:Secret": _subdomain(),
    "kubernetes:core/v1:ConfigMap": _subdomain(),
    "kubernetes:apps/v1:Deployment": _label(what="≤ 63 (it becomes the pods' hostnames); " + _LABEL_RULE),
    "kubernetes:apps/v1:StatefulSet": _label(52, what="≤ 52 (name + hash is the controller-revision-hash label)"),
    "kubernetes:batch/v1:Job": _label(what="≤ 63 (it becomes the job-name label); " + _LABEL_RULE),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": _subdomain(),
    "kubernetes:policy/v1:PodDisruptionBudget": _subdomain(),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": _subdomain(),
    "kubernetes:networking.k8s.io/v1:Ingress": _subdomain(),
    "kubernetes:postgresql.cnpg.io/v1:Cluster": _label(50, DNS1035, "CloudNativePG: an RFC 1035 label of ≤ 50"),
    "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup": _subdomain(),
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor": _subdomain(),
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule": _subdomain(),
    "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig": _subdomain(),
    "kubernetes:cert-manager.io/v1:Certificate": _subdomain(),
    # Cluster-scoped: unique in the whole cluster, which `<project>-<stack>-…` names make them.
    "kubernetes:cert-manager.io/v1:ClusterIssuer": NameRule("metadata.name", 253, SUBDOMAIN, _SUBDOMAIN_RULE),
}

# Stack-level objects of the kinds a service also gets (Service, ServiceAccount, NetworkPolicy,
# PodDisruptionBudget), including those CloudNativePG derives from its Cluster's name: a service
# with one of these names would collide with them in the namespace.
POSTGRES = "postgres"
REDIS = "redis"
MIGRATE = "migrate"
DEFAULT_DENY = "default-deny"
RESERVED_SERVICE_NAMES = frozenset({
    POSTGRES, f"{POSTGRES}-rw", f"{POSTGRES}-ro", f"{POSTGRES}-r", f"{POSTGRES}-primary",
    REDIS, MIGRATE, DEFAULT_DENY,
})


def object_name(prefix: str, what: str) -> str:
    """`<project>-<stack>-<what>`: a service's objects (`what` = its name) or a stack-level one."""
    return f"{prefix}-{what}"


def labels(prefix: str, name: str, component: str) -> dict[str, str]:
    """The recommended labels (app.kubernetes.io/*); every value is ≤ 63 by the limits above."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": prefix,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "berth",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def selector(prefix: str, name: str) -> dict[str, str]:
    """What a Deployment, Service or policy selects one workload's pods by (immutable once created)."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": prefix}
