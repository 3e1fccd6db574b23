"""The Pulumi program: validate the stack's config into a ServiceSpec, then let its target declare it."""

from __future__ import annotations

import pulumi

from infra import config, targets


def main() -> None:
    spec = config.from_pulumi()  # raises ConfigError before a single resource is declared
    outputs = targets.load(spec.target).deploy(spec)
    for name, value in outputs.items():
        pulumi.export(name, value)
