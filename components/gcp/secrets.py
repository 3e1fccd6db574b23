"""The service's secrets in Secret Manager: one secret and one version per name. Services reference a
secret by id *and* version, so a new value makes a new revision rather than a silent change."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp


@dataclass
class SecretsArgs:
    prefix: str
    values: dict[str, pulumi.Input[str]]  # every value a Pulumi secret
    deletion_protection: bool


@dataclass
class SecretRef:
    secret_id: pulumi.Output[str]  # the id a container's secretKeyRef names
    version: pulumi.Output[str]  # the version number it is pinned to
    secret: gcp.secretmanager.Secret


class Secrets(pulumi.ComponentResource):
    refs: dict[str, SecretRef]

    def __init__(self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:gcp:Secrets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.refs = {}
        for key, value in sorted(args.values.items()):
            logical = key.lower().replace("_", "-")
            secret = gcp.secretmanager.Secret(
                logical, secret_id=f"{args.prefix}-{key}", replication={"auto": {}},
                labels={"berth-stack": args.prefix}, deletion_protection=args.deletion_protection, opts=child)
            version = gcp.secretmanager.SecretVersion(
                logical, secret=secret.id, secret_data=pulumi.Output.secret(value), enabled=True, opts=child)
            self.refs[key] = SecretRef(secret.secret_id, version.version, secret)
        self.register_outputs({})
