"""What the rules read: target-neutral facts about a stack, made by one adapter per target.

A rule is written once against these facts; a target adds an adapter (adapters/<target>.py) that
turns its provider's resources into them. `None` means "this target has no such setting" (the rule
then has nothing to check), never "unknown, assume fine" for a setting the target does have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence


@dataclass(frozen=True)
class Resource:
    """One resource as a policy sees it: its type token, its properties as the engine hands them
    (camelCase, secrets unwrapped) and, for stack policies, the resources each property came from."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool = False
    deps: Mapping[str, Sequence["Resource"]] = field(default_factory=dict)

    def depends(self, prop: str) -> list["Resource"]:
        return list(self.deps.get(prop, ()))

    def __str__(self) -> str:
        return f"{self.type} '{self.name}'"


@dataclass(frozen=True)
class Fact:
    resource: Resource
    subject: str  # the thing in the user's words: "the database", "container api"


@dataclass(frozen=True)
class Datastore(Fact):
    kind: str  # "database" | "cache"
    public: Optional[bool] = None
    at_rest: Optional[bool] = None
    in_transit: Optional[bool] = None
    backup_days: Optional[int] = None
    point_in_time_recovery: Optional[bool] = None
    deletion_protection: Optional[bool] = None


@dataclass(frozen=True)
class Container(Fact):
    image: Optional[str] = None
    user: Optional[str] = None  # "" = the image's default (root unless the image says otherwise); None = no such setting
    privileged: bool = False
    host_network: bool = False
    serves: bool = False  # takes traffic, so it needs a health probe
    probes: Optional[bool] = None
    limits: Optional[bool] = None
    plain_env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlainConfig(Fact):
    """Plain key/value configuration a workload reads (a ConfigMap): no place for a secret either."""

    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Listener(Fact):
    public: bool = True
    tls: bool = True
    detail: str = ""


@dataclass(frozen=True)
class Opening(Fact):
    """A network path into the stack: a firewall/security-group rule, a published port, a public endpoint."""

    world: bool = False
    ports: frozenset[int] = frozenset()  # -1: every port
    on_load_balancer: Optional[bool] = None  # None: cannot tell from here (a per-resource view)


@dataclass(frozen=True)
class LogStore(Fact):
    retention_days: Optional[int] = None  # None or 0: kept forever


@dataclass(frozen=True)
class ImageRef(Fact):
    ref: str = ""


@dataclass(frozen=True)
class Alerting(Fact):
    """The stack's alerting, as a whole: how many alerts, and how many of them reach a person."""

    alerts: int = 0
    notified: int = 0
    targets: tuple[str, ...] = ()  # where notifications go (email addresses, channel names)


def alerting_of(subject: str, alerts: Sequence[Resource], reach, watched: Sequence[Resource]) -> Optional[Alerting]:
    """The stack's Alerting fact: `reach(alert)` gives where that alert notifies (empty: nobody).
    None when the stack has nothing to watch (no workload, no datastore)."""
    if not watched:
        return None
    alerts = sorted(alerts, key=lambda r: r.urn)
    reached = [reach(a) for a in alerts]
    anchor = alerts[0] if alerts else min(watched, key=lambda r: r.urn)
    return Alerting(anchor, subject, alerts=len(alerts), notified=sum(1 for r in reached if r),
                    targets=tuple(sorted({t for r in reached for t in r})))
