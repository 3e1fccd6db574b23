"""NetworkPolicy rules the components share. The namespace denies everything by default
(components/kubernetes/namespace.py); each workload then allows exactly its own traffic."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

HTTPS = 443
NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace
APP_COMPONENTS = ("web", "worker", "migrations")


def from_namespace(namespace: str, port: int) -> dict[str, Any]:
    return {"from": [{"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: namespace}}}],
            "ports": [{"protocol": "TCP", "port": port}]}


def from_pods(pod_selector: dict[str, Any], ports: list[int]) -> dict[str, Any]:
    return {"from": [{"podSelector": pod_selector}], "ports": [{"protocol": "TCP", "port": p} for p in ports]}


def app_pods(prefix: str) -> dict[str, Any]:
    """Every pod that runs the app (services and migrations): the clients of the database and cache."""
    return {"matchLabels": {"app.kubernetes.io/instance": prefix, "app.kubernetes.io/part-of": "berth"},
            "matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In",
                                  "values": list(APP_COMPONENTS)}]}


def dns(namespace: str) -> dict[str, Any]:
    """Name lookups at the cluster DNS (CoreDNS keeps kube-dns's `k8s-app` label)."""
    return {"to": [{"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: namespace}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}


@dataclass(frozen=True)
class Peer:
    """Something pods connect to: pods of this namespace with these labels, or address ranges."""

    port: int
    pods: Optional[dict[str, str]] = None
    cidrs: tuple[str, ...] = field(default_factory=tuple)

    def egress(self) -> dict[str, Any]:
        if self.pods is not None:
            to = [{"podSelector": {"matchLabels": dict(self.pods)}}]
        elif self.cidrs:
            to = [{"ipBlock": {"cidr": cidr}} for cidr in self.cidrs]
        else:  # an empty `to` would allow every destination
            raise ValueError("a peer needs pods or address ranges")
        return {"to": to, "ports": [{"protocol": "TCP", "port": self.port}]}


def egress_rules(dns_namespace: str, peers: list[Peer], https_cidrs: tuple[str, ...]) -> list[dict[str, Any]]:
    rules = [dns(dns_namespace)] + [p.egress() for p in peers]
    if https_cidrs:
        rules.append(Peer(HTTPS, cidrs=https_cidrs).egress())
    return rules
