"""The stack's own certificate authority for TLS inside the cluster (Redis), made by cert-manager:
a self-signed ClusterIssuer signs a CA certificate, and a CA ClusterIssuer signs server certificates
with it.

A ClusterIssuer reads its Secret from cert-manager's cluster resource namespace
(`cert_manager_namespace`), so the CA's certificate and key live there, not in the stack's
namespace. A server certificate's Secret carries the CA certificate as `ca.crt`: that key alone is
what the clients mount to verify the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.names import labels, object_name

GROUP = "cert-manager.io"
CA_DURATION = "87600h"  # ten years: every client trusts this certificate
SERVER_DURATION = "8760h"  # a year, renewed a month before it ends
SERVER_RENEW_BEFORE = "720h"
# cert-manager reports a Certificate Ready once its Secret holds a valid certificate, an issuer once
# it can sign; Pulumi waits for it before what depends on it.
WAIT_READY = {"pulumi.com/waitFor": "condition=Ready"}


def issuer_ref(name: str) -> dict[str, str]:
    return {"name": name, "kind": "ClusterIssuer", "group": GROUP}


@dataclass
class InternalCAArgs:
    prefix: str
    cert_manager_namespace: str


class InternalCA(pulumi.ComponentResource):
    issuer: k8s.apiextensions.CustomResource  # the CA ClusterIssuer that signs server certificates
    issuer_name: str

    def __init__(self, name: str, args: InternalCAArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:kubernetes:InternalCA", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        meta_labels = labels(args.prefix, "internal-ca", "tls")
        selfsigned = k8s.apiextensions.CustomResource(
            "selfsigned-issuer", api_version=f"{GROUP}/v1", kind="ClusterIssuer",
            metadata={"name": object_name(args.prefix, "selfsigned"), "labels": meta_labels, "annotations": WAIT_READY},
            spec={"selfSigned": {}}, opts=child)
        self.issuer_name = object_name(args.prefix, "ca")
        ca = k8s.apiextensions.CustomResource(
            "ca", api_version=f"{GROUP}/v1", kind="Certificate",
            metadata={"name": self.issuer_name, "namespace": args.cert_manager_namespace, "labels": meta_labels,
                      "annotations": WAIT_READY},
            spec={"isCA": True, "commonName": f"{args.prefix} internal CA", "secretName": self.issuer_name,
                  "duration": CA_DURATION, "privateKey": {"algorithm": "ECDSA", "size": 256},
                  "issuerRef": issuer_ref(selfsigned.metadata["name"])},
            opts=child)
        self.issuer = k8s.apiextensions.CustomResource(
            "ca-issuer", api_version=f"{GROUP}/v1", kind="ClusterIssuer",
            metadata={"name": self.issuer_name, "labels": meta_labels, "annotations": WAIT_READY},
            spec={"ca": {"secretName": self.issuer_name}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ca]))
        self.register_outputs({"issuer": self.issuer_name})


def server_certificate(name: str, *, prefix: str, namespace: pulumi.Input[str], secret_name: str,
                       dns_names: Sequence[pulumi.Input[str]], ca: InternalCA, component: str,
                       opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """A server certificate from the internal CA, in the stack's namespace."""
    spec: dict[str, Any] = {
        "secretName": secret_name, "dnsNames": list(dns_names), "usages": ["server auth"],
        "duration": SERVER_DURATION, "renewBefore": SERVER_RENEW_BEFORE,
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "issuerRef": issuer_ref(ca.issuer_name),
    }
    return k8s.apiextensions.CustomResource(
        name, api_version=f"{GROUP}/v1", kind="Certificate",
        metadata={"name": object_name(prefix, name), "namespace": namespace,
                  "labels": labels(prefix, name, component), "annotations": WAIT_READY},
        spec=spec, opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[ca.issuer])))
