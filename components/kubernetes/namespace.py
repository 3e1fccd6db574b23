"""The stack's namespace: Pod Security `restricted` enforced, and every pod's traffic denied unless a
NetworkPolicy of this stack allows it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.names import DEFAULT_DENY, labels, object_name

PSS = "restricted"


@dataclass
class NamespaceArgs:
    prefix: str
    name: str


class Namespace(pulumi.ComponentResource):
    name: pulumi.Output[str]

    def __init__(self, name: str, args: NamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:kubernetes:Namespace", name, None, opts)
        pss = {f"pod-security.kubernetes.io/{mode}": PSS for mode in ("enforce", "audit", "warn")}
        namespace = k8s.core.v1.Namespace(
            "namespace",
            metadata={"name": args.name, "labels": {**labels(args.prefix, args.prefix, "namespace"), **pss}},
            opts=pulumi.ResourceOptions(parent=self))
        self.name = namespace.metadata["name"]
        k8s.networking.v1.NetworkPolicy(
            DEFAULT_DENY,
            metadata={"name": object_name(args.prefix, DEFAULT_DENY), "namespace": self.name,
                      "labels": labels(args.prefix, DEFAULT_DENY, "network")},
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"name": self.name})
