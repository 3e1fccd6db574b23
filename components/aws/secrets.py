"""The service's secrets in Secrets Manager, one secret per name; tasks get them by ARN."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class SecretsArgs:
    prefix: str
    values: dict[str, pulumi.Input[str]]  # every value a Pulumi secret
    recovery_days: int


class Secrets(pulumi.ComponentResource):
    arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:aws:Secrets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.arns = {}
        for key, value in sorted(args.values.items()):
            logical = key.lower().replace("_", "-")
            secret = aws.secretsmanager.Secret(
                logical, name=f"{args.prefix}/{key}", recovery_window_in_days=args.recovery_days,
                description=f"{key} for {args.prefix}", opts=child)
            aws.secretsmanager.SecretVersion(logical, secret_id=secret.id,
                                             secret_string=pulumi.Output.secret(value), opts=child)
            self.arns[key] = secret.arn
        self.register_outputs({})
