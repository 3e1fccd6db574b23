"""The way in: one Ingress (ingress-nginx by default) with a rule per web service, TLS from a
cert-manager Certificate, HTTP → HTTPS, and a per-client rate limit.

The first web service answers on `/`, each further one on `/<name>` (as on the other targets). With
no domain (a dev tier that allows it) the rules match any host and there is no TLS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.names import labels, object_name
from components.kubernetes.workload import PORT_NAME
from infra.spec import Service

NGINX = "nginx.ingress.kubernetes.io"


@dataclass
class WebBackend:
    service: Service
    name: pulumi.Input[str]  # the Kubernetes Service's name


@dataclass
class EdgeArgs:
    prefix: str
    namespace: pulumi.Input[str]
    backends: Sequence[WebBackend]
    domain: Optional[str]
    ingress_class: str
    cluster_issuer: str
    rate_limit_per_5min: int
    idle_timeout_seconds: int


def rate_limit_per_minute(per_5min: int) -> int:
    """ingress-nginx counts per minute per client address; the spec's budget is per 5 minutes."""
    return math.ceil(per_5min / 5)


class Edge(pulumi.ComponentResource):
    ingress: k8s.networking.v1.Ingress
    url: pulumi.Output[Optional[str]]

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:kubernetes:Edge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tls = args.domain is not None
        meta_labels = labels(args.prefix, "edge", "edge")
        annotations = {
            f"{NGINX}/limit-rpm": str(rate_limit_per_minute(args.rate_limit_per_5min)),
            f"{NGINX}/ssl-redirect": "true" if tls else "false",
            f"{NGINX}/force-ssl-redirect": "true" if tls else "false",
            # Time between two reads of a response; the idle keep-alive to the pods is the
            # controller's `upstream-keepalive-timeout` (docs/targets/kubernetes.md).
            f"{NGINX}/proxy-read-timeout": str(args.idle_timeout_seconds),
            f"{NGINX}/proxy-send-timeout": str(args.idle_timeout_seconds),
        }
        spec: dict = {"ingressClassName": args.ingress_class, "rules": []}
        depends: list[pulumi.Resource] = []
        if tls:
            secret_name = object_name(args.prefix, "tls")
            certificate = k8s.apiextensions.CustomResource(
                "certificate", api_version="cert-manager.io/v1", kind="Certificate",
                metadata={"name": object_name(args.prefix, "tls"), "namespace": args.namespace, "labels": meta_labels},
                spec={"secretName": secret_name, "dnsNames": [args.domain],
                      "issuerRef": {"name": args.cluster_issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"},
                      "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}},
                opts=child)
            depends.append(certificate)
            spec["tls"] = [{"hosts": [args.domain], "secretName": secret_name}]
        for index, backend in enumerate(args.backends):
            path = "/" if index == 0 else f"/{backend.service.name}"
            rule: dict = {"http": {"paths": [{"path": path, "pathType": "Prefix", "backend": {
                "service": {"name": backend.name, "port": {"name": PORT_NAME}}}}]}}
            if tls:
                rule["host"] = args.domain
            spec["rules"].append(rule)
        self.ingress = k8s.networking.v1.Ingress(
            "ingress",
            metadata={"name": object_name(args.prefix, "edge"), "namespace": args.namespace,
                      "labels": meta_labels, "annotations": annotations},
            spec=spec, opts=pulumi.ResourceOptions(parent=self, depends_on=depends))
        if tls:
            self.url = pulumi.Output.from_input(f"https://{args.domain}")
        else:
            self.url = self.ingress.status.apply(_address)
        self.register_outputs({"url": self.url})


def _address(status) -> Optional[str]:
    """The controller's address once it has one (no domain: plain HTTP on it)."""
    points = status.load_balancer.ingress if status and status.load_balancer else None
    for point in points or []:
        if point.hostname or point.ip:
            return f"http://{point.hostname or point.ip}"
    return None
