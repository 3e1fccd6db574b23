"""The service's secrets as Pulumi secrets: taken from the stack's secret config, or generated."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random

from infra.errors import NAMESPACE

# Generated when the stack sets no value; the rest must be given (config validation says so).
GENERATED = {"SECRET_KEY": 64}


@dataclass
class AppSecretsArgs:
    names: tuple[str, ...]


class AppSecrets(pulumi.ComponentResource):
    """Every value is a secret Output, so Pulumi encrypts it in state and masks it in previews."""

    values: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: AppSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:common:Secrets", name, None, opts)
        config = pulumi.Config(NAMESPACE)
        self.values = {}
        for secret in args.names:
            given = config.get_secret(secret)
            if given is None and secret in GENERATED:
                given = password(secret.lower().replace("_", "-"), self, length=GENERATED[secret])
            self.values[secret] = pulumi.Output.secret(given)
        self.register_outputs({})


def password(name: str, parent: pulumi.Resource, length: int = 32) -> pulumi.Output[str]:
    """A generated password that stays a secret; alphanumeric so it needs no escaping in a URL."""
    return random.RandomPassword(
        name, length=length, special=False, opts=pulumi.ResourceOptions(parent=parent)
    ).result
