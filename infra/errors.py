"""How berth reports a bad stack config: the key path, what was expected, what was found."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

NAMESPACE = "berth"


@dataclass(frozen=True)
class Problem:
    path: str  # dotted, without the namespace: "services.api.scaling"
    expected: str
    found: str

    def __str__(self) -> str:
        return f"{NAMESPACE}:{self.path}: expected {self.expected}, found {self.found}"


def show(value: Any) -> str:
    """A found value as the user wrote it, short enough for one line."""
    if value is None:
        return "nothing"
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ConfigError(pulumi.RunError):
    """Raised before any resource is declared; the message lists every problem, one per line.

    A RunError, so `pulumi up` prints the message alone, without a Python traceback.
    """

    def __init__(self, stack: str, problems: list[Problem]):
        self.stack = stack
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"stack '{stack}' has an invalid config:\n{lines}")
