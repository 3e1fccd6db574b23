"""The targets berth can deploy to, each a package under components/.

A target package exposes `Settings` (a pydantic model for its own `berth:<target>` section),
`check(spec) -> list[Problem]` (what the spec asks that this target cannot run), and
`deploy(spec) -> dict` (declares its components and returns the stack outputs). Targets are
imported lazily so planning a docker stack never imports a cloud SDK.
"""

from __future__ import annotations

import importlib
from types import ModuleType

TARGETS = {
    "docker": "components.docker",
    "aws": "components.aws",
    "gcp": "components.gcp",
    "kubernetes": "components.kubernetes",
}


def load(name: str) -> ModuleType:
    return importlib.import_module(TARGETS[name])
