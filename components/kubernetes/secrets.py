"""The service's secrets as one Kubernetes Secret; pods read each key by `secretKeyRef`.

The Secret is auto-named by Pulumi: a change of any value replaces it under a new name, so every
Deployment that refers to it rolls out with the new values (env from a Secret is read at start only).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.names import labels
from components.kubernetes.pods import SecretRef


@dataclass
class SecretsArgs:
    prefix: str
    namespace: pulumi.Input[str]
    values: dict[str, pulumi.Input[str]]  # env name → a Pulumi secret


class Secrets(pulumi.ComponentResource):
    refs: dict[str, SecretRef]

    def __init__(self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:kubernetes:Secrets", name, None, opts)
        secret = k8s.core.v1.Secret(
            "app-env",
            metadata={"namespace": args.namespace, "labels": labels(args.prefix, "app-env", "secrets")},
            type="Opaque",
            # The SDK marks the whole map secret: state holds it encrypted, previews mask it.
            string_data={k: pulumi.Output.secret(v) for k, v in sorted(args.values.items())},
            opts=pulumi.ResourceOptions(parent=self))
        self.refs = {key: SecretRef(secret.metadata["name"], key) for key in args.values}
        self.register_outputs({"name": secret.metadata["name"]})
