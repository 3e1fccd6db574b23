"""Reading provider props the way the engine hands them: Mappings and Sequences, numbers as floats,
single nested blocks sometimes as a one-item list."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Optional


def is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def items(value: Any) -> list[Any]:
    """A list input as a list; a single block as a one-item list; nothing as []."""
    if value is None:
        return []
    if is_list(value):
        return list(value)
    return [value]


def one(value: Any) -> Any:
    """A block the provider may give as an object or as a one-item list."""
    if is_list(value):
        return value[0] if len(value) else None
    return value


def at(value: Any, path: str) -> Any:
    """`at(props, "settings.backupConfiguration.enabled")`: None where any step is missing."""
    for part in path.split("."):
        value = one(value)
        if not is_map(value):
            return None
        value = value.get(part)
    return value


def num(value: Any) -> Optional[int]:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def maybe_json(value: Any) -> Any:
    """ECS container definitions and IAM policies are JSON text in Pulumi's inputs."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def port_set(low: Any, high: Any = None) -> frozenset[int]:
    lo, hi = num(low), num(high if high is not None else low)
    if lo is None or hi is None:
        return frozenset({-1})
    if hi - lo > 1024:
        return frozenset({-1})
    return frozenset(range(lo, hi + 1))


def port_spec(text: Any) -> frozenset[int]:
    """"443", "8000-8080" (GCP firewall, NetworkPolicy) → the ports."""
    text = str(text)
    if "-" in text:
        low, _, high = text.partition("-")
        return port_set(low, high)
    return port_set(text)


WORLD = frozenset({"0.0.0.0/0", "::/0", "*", "0.0.0.0", "::"})
