"""The target-neutral ServiceSpec every target translates.

Every model forbids unknown keys, so a typo in a stack file is an error, not a silently ignored key.
The tiers in stacks/ supply every default; nothing here defaults a size, a count or a threshold.
"""

from __future__ import annotations

import re
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SECRET_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# A digest pin: `registry/repo[:tag]@sha256:<64 hex>`. Tags move; digests do not, and rollback
# restores the image by restoring this string.
IMAGE_DIGEST_REF = re.compile(r"^[a-z0-9][a-z0-9._/:-]*(:[\w][\w.-]{0,127})?@sha256:[0-9a-f]{64}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# `<project>-<stack>` names physical resources on every target; the longest it may be is the one
# every cloud's tightest name (an ALB's 32 characters, with room for a suffix) still accepts.
PREFIX = re.compile(r"^(?=.{1,27}$)[a-z](-?[a-z0-9])*$")
# Single hyphens: ELB, RDS and ElastiCache names refuse "--", and Kubernetes labels end alphanumeric.
SERVICE_NAME = r"^[a-z](-?[a-z0-9]){0,23}$"
# Names berth gives its own per-stack resources (containers, jobs, alarms): a service by one of
# these names would share a physical name with them.
RESERVED_SERVICE_NAMES = ("alerts", "app", "cache", "database", "edge", "image", "migrate", "migrations",
                          "network", "postgres", "redis", "registry", "secrets")
# Domains and mailboxes reserved for examples (RFC 2606, RFC 6761): a stack that names one was
# copied from an example and would deploy a certificate or an alert nobody can receive.
# (`.localhost` is not one: it is this machine, which a local cluster stack means.)
PLACEHOLDER_DOMAIN = re.compile(r"(^|\.)(example\.(com|net|org)|example|test|invalid)$")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Probe(Model):
    path: str = Field(pattern=r"^/[\w./-]*$")
    period_seconds: int = Field(ge=1, le=300)
    timeout_seconds: int = Field(ge=1, le=60)
    failure_threshold: int = Field(ge=1, le=100)

    @model_validator(mode="after")
    def _timeout_within_period(self) -> "Probe":
        if self.timeout_seconds > self.period_seconds:
            raise ValueError(
                f"timeout_seconds ≤ period_seconds, found timeout_seconds={self.timeout_seconds},"
                f" period_seconds={self.period_seconds}"
            )
        return self

    @property
    def budget_seconds(self) -> int:
        """How long the probe may keep failing before the platform gives up on the container."""
        return self.period_seconds * self.failure_threshold


class Probes(Model):
    startup: Probe
    liveness: Probe
    readiness: Probe


class Scaling(Model):
    min: int = Field(ge=0, le=1000)
    max: int = Field(ge=1, le=1000)
    cpu_target: int = Field(ge=10, le=95)
    requests_per_target: Optional[int] = Field(default=None, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _min_le_max(self) -> "Scaling":
        if self.min > self.max:
            raise ValueError(f"min ≤ max, found min={self.min}, max={self.max}")
        return self


class ServiceDefaults(Model):
    """What every service gets unless it says otherwise (the tier supplies all of it)."""

    cpu: float = Field(gt=0, le=16)
    memory: int = Field(ge=128, le=131072)
    scaling: Scaling
    probes: Probes


class Service(Model):
    name: str = Field(pattern=SERVICE_NAME)
    kind: Literal["web", "worker"]
    command: Optional[tuple[str, ...]] = None
    port: Optional[int] = Field(default=None, ge=1, le=65535)
    cpu: float = Field(gt=0, le=16)
    memory: int = Field(ge=128, le=131072)
    scaling: Scaling
    probes: Probes
    env: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _port_matches_kind(self) -> "Service":
        if self.kind == "worker" and self.port is not None:
            raise ValueError(f"no port on a worker (workers take no traffic), found port={self.port}")
        if self.kind == "web" and self.port is None:
            raise ValueError("a port on a web service, found none")
        return self

    @property
    def is_web(self) -> bool:
        return self.kind == "web"


class Image(Model):
    """Either build from a directory of this repo, or run a prebuilt image pinned by digest."""

    build: Optional[str] = None
    ref: Optional[str] = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Image":
        if (self.build is None) == (self.ref is None):
            raise ValueError(f"exactly one of build or ref, found build={self.build!r}, ref={self.ref!r}")
        if self.ref is not None and not IMAGE_DIGEST_REF.match(self.ref):
            raise ValueError(f"ref pinned by digest (…@sha256:<64 hex>), found {self.ref!r}")
        return self


Size = Literal["small", "medium", "large"]


class Database(Model):
    enabled: bool
    engine_version: str = Field(pattern=r"^\d+(\.\d+)?$")
    size: Size
    storage_gb: int = Field(ge=20, le=65536)
    max_storage_gb: int = Field(ge=20, le=65536)
    backup_days: int = Field(ge=0, le=35)
    ha: bool
    deletion_protection: bool
    final_snapshot: bool
    performance_insights: bool
    name: str = Field(default="app", pattern=r"^[a-z][a-z0-9_]{0,62}$")

    @model_validator(mode="after")
    def _storage(self) -> "Database":
        if self.max_storage_gb < self.storage_gb:
            raise ValueError(
                f"max_storage_gb ≥ storage_gb, found max_storage_gb={self.max_storage_gb},"
                f" storage_gb={self.storage_gb}"
            )
        return self


class Cache(Model):
    enabled: bool
    engine_version: str = Field(pattern=r"^\d+(\.\d+)?$")
    size: Size
    ha: bool


class Alerts(Model):
    email: Optional[str] = None
    error_rate_percent: float = Field(gt=0, le=100)
    error_rate_minutes: int = Field(ge=1, le=60)
    p95_latency_seconds: float = Field(gt=0, le=300)
    health_failures: int = Field(ge=1, le=20)
    db_free_storage_gb: float = Field(gt=0)
    cpu_percent: int = Field(ge=1, le=100)
    memory_percent: int = Field(ge=1, le=100)

    @field_validator("email")
    @classmethod
    def _email(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not EMAIL.match(v):
            raise ValueError(f"an email address, found {v!r}")
        return v


class Edge(Model):
    rate_limit_per_5min: int = Field(ge=10, le=2_000_000_000)
    access_logs: bool


class Migrations(Model):
    enabled: bool = True
    command: tuple[str, ...] = ("python", "-m", "app", "migrate")


class ServiceSpec(Model):
    """One environment of one service, as every target sees it."""

    project: str
    stack: str
    target: str
    tier: str
    services: dict[str, Service]
    image: Image
    env: dict[str, str]
    secrets: tuple[str, ...]
    database: Database
    cache: Cache
    alerts: Alerts
    edge: Edge
    domain: Optional[str]
    migrations: Migrations
    log_retention_days: int
    target_settings: Optional[BaseModel] = None

    @property
    def web_services(self) -> list[Service]:
        return [s for s in self.services.values() if s.is_web]

    @property
    def workers(self) -> list[Service]:
        return [s for s in self.services.values() if not s.is_web]

    @property
    def base_env(self) -> dict[str, str]:
        """The plain env every service gets: ENVIRONMENT from the tier, then the stack's own env."""
        return {"ENVIRONMENT": "production" if self.tier == "prod" else "development", **self.env}

    @property
    def prefix(self) -> str:
        """A short name for physical resources: project and stack, e.g. `berth-prod`."""
        return f"{self.project}-{self.stack}"
