"""One adapter per target: provider resources → facts (berth_policy/facts.py).

Each adapter module defines `PREFIX` (its provider's type-token prefix, e.g. "aws:") and
`facts(resources, whole_stack) -> Iterator[Fact]`. With `whole_stack=False` it gets one resource and
yields what that resource says alone (resource policies: they run before the resource is created);
with `whole_stack=True` it gets every resource of its provider, with property dependencies, and may
join them (a rule on a security group and the load balancer that uses it; alerts and their
notification target).

Props are read through the engine's proxies (Mapping/Sequence, not dict/list), so the helpers below
test for the abstract types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Iterable, Iterator

from berth_policy.adapters import aws, docker, gcp, kubernetes
from berth_policy.facts import Fact, Resource

ADAPTERS = {module.PREFIX: module for module in (aws, gcp, kubernetes, docker)}


def adapter_for(type_: str):
    return ADAPTERS.get(type_.split(":", 1)[0] + ":")


def facts(resources: Iterable[Resource], whole_stack: bool) -> Iterator[Fact]:
    by_adapter: dict[Any, list[Resource]] = {}
    for resource in resources:
        module = adapter_for(resource.type)
        if module is not None:
            by_adapter.setdefault(module, []).append(resource)
    for module, group in by_adapter.items():
        yield from module.facts(group, whole_stack)
