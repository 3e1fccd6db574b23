"""Target `gcp`: Cloud Run v2 services (and worker pools for workers) behind a global external HTTPS
load balancer with serverless NEGs and Cloud Armor, Cloud SQL Postgres on a private IP, Memorystore
Redis, Secret Manager, Cloud Monitoring alert policies, an uptime check and a dashboard.

Built from pulumi-gcp resources only, so every resource is visible to the mock runtime and every
default is ours (in the tiers' `gcp:` sections).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal, Optional

from pydantic import Field, field_validator, model_validator

from infra.errors import Problem
from infra.spec import Model, Service, ServiceSpec, Size

# Cloud Run's vCPU sizes berth uses, with the memory (MiB) each allows. Below 1 vCPU Cloud Run
# requires concurrency 1, request-based billing and the first-generation environment: not offered.
RUN_CPU_MEMORY = {1: (512, 4096), 2: (512, 8192), 4: (2048, 16384), 6: (4096, 24576), 8: (4096, 32768)}
# Worker pools accept less memory (no second-generation minimum applies to them).
POOL_MIN_MEMORY = 128
STARTUP_PERIOD_MAX = 240  # Cloud Run: a startup probe's period and initial delay
LIVENESS_PERIOD_MAX = 3600
# The Postgres majors Cloud SQL offers, and the Redis versions Memorystore offers.
POSTGRES_MAJORS = tuple(range(13, 18))
REDIS_VERSIONS = {"6": "REDIS_6_X", "7.0": "REDIS_7_0", "7.2": "REDIS_7_2"}
ARMOR_INTERVALS = (10, 30, 60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700, 3600)

PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
NETWORK_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
SQL_TIER = re.compile(r"^db-(f1-micro|g1-small|custom-\d+-\d+|(perf-optimized|n2|n2d|c4a|n4)-[a-z0-9-]+)$")


class ProviderProblem(Problem):
    """A problem with the provider's own config (`gcp:project`, `gcp:region`), not with `berth:…`."""

    def __str__(self) -> str:
        return f"{self.path}: expected {self.expected}, found {self.found}"


class Settings(Model):
    """`berth:gcp`, merged over the tier's `gcp:` section. The tiers supply every default."""

    # An existing VPC network (and a subnetwork of it in the stack's region) instead of a new one.
    network: Optional[str] = None
    subnetwork: Optional[str] = None
    subnet_cidr: str
    private_services_prefix_length: int = Field(ge=16, le=24)
    vpc_egress: Literal["private-ranges-only", "all-traffic"]
    concurrency: int = Field(ge=1, le=1000)
    request_timeout_seconds: int = Field(ge=1, le=3600)
    lb_keepalive_seconds: int = Field(ge=5, le=1200)
    tls_profile: Literal["COMPATIBLE", "MODERN", "RESTRICTED"]
    min_tls_version: Literal["TLS_1_0", "TLS_1_1", "TLS_1_2"]
    require_tls: bool
    run_app_url: bool  # the service's default *.run.app URL (ingress still admits only the LB and the VPC)
    deletion_protection: bool  # the provider's deletion protection on Cloud Run services, pools, jobs
    database_tiers: dict[Size, str]
    database_edition: Literal["ENTERPRISE", "ENTERPRISE_PLUS"]
    transaction_log_days: int = Field(ge=1, le=35)
    final_backup_days: int = Field(ge=1, le=365)
    cache_memory_gb: dict[Size, int]
    registry_keep_releases: int = Field(ge=1, le=1000)
    registry_untagged_days: int = Field(ge=1, le=365)
    registry_max_age_days: int = Field(ge=1, le=3650)
    registry_protect: bool  # `protect` the repository: rollback needs its images
    uptime_check_period_seconds: Literal[60, 300, 600, 900]
    migration_timeout_seconds: int = Field(ge=10, le=86400)
    migration_retries: int = Field(ge=0, le=10)
    rate_limit_interval_seconds: int

    @field_validator("network", "subnetwork")
    @classmethod
    def _name(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not NETWORK_NAME.match(v):
            raise ValueError(f"a Compute Engine network name like my-vpc, found {v!r}")
        return v

    @field_validator("subnet_cidr")
    @classmethod
    def _cidr(cls, v: str) -> str:
        try:
            net = ipaddress.IPv4Network(v)
        except ValueError:
            raise ValueError(f"an IPv4 network like 10.8.0.0/20, found {v!r}") from None
        if not net.is_private or not 16 <= net.prefixlen <= 26:
            raise ValueError(f"a private range from /16 to /26 (Cloud Run takes addresses in blocks of 16), found {v!r}")
        return v

    @field_validator("database_tiers")
    @classmethod
    def _tiers(cls, v: dict) -> dict:
        for size, tier in v.items():
            if not SQL_TIER.match(tier):
                raise ValueError(f"a Cloud SQL tier like db-custom-2-7680 for {size}, found {tier!r}")
        return v

    @field_validator("cache_memory_gb")
    @classmethod
    def _memory(cls, v: dict) -> dict:
        for size, gb in v.items():
            if not 1 <= gb <= 300:
                raise ValueError(f"1 to 300 GB of Memorystore memory for {size}, found {gb}")
        return v

    @field_validator("rate_limit_interval_seconds")
    @classmethod
    def _interval(cls, v: int) -> int:
        if v not in ARMOR_INTERVALS:
            raise ValueError(f"a Cloud Armor rate-limit interval: one of {', '.join(map(str, ARMOR_INTERVALS))}, found {v}")
        return v

    @model_validator(mode="after")
    def _existing_network(self) -> "Settings":
        if (self.network is None) != (self.subnetwork is None):
            raise ValueError(f"network and subnetwork together, found network={self.network!r}, "
                             f"subnetwork={self.subnetwork!r}")
        if self.transaction_log_days > 7:
            raise ValueError(f"transaction_log_days ≤ 7 (Cloud SQL Enterprise), found {self.transaction_log_days}")
        return self


# A project id named after the examples (`berth-prod-example`): a real `pulumi up` would try to use it.
PLACEHOLDER_PROJECT = re.compile(r"(^|-)example(-|$)")


def placeholders(spec: ServiceSpec) -> list[Problem]:
    """Example values a real `pulumi up` must not try to use (the offline plan only warns)."""
    project = provider_config()["project"]
    if project is not None and PLACEHOLDER_PROJECT.search(project):
        return [ProviderProblem("gcp:project", "the id of a Google Cloud project you own (this one is an example;"
                                " pulumi config set gcp:project …)", project)]
    return []


def provider_config() -> dict[str, Optional[str]]:
    """`gcp:project` and `gcp:region` from the stack: the program names images, secrets and
    metrics with them, so it needs them itself rather than only through the provider."""
    import pulumi
    config = pulumi.Config("gcp")
    return {"project": config.get("project"), "region": config.get("region")}


def _size_problems(svc: Service) -> list[Problem]:
    path = f"services.{svc.name}"
    cpu = int(svc.cpu) if float(svc.cpu).is_integer() else None
    if cpu not in RUN_CPU_MEMORY:
        return [Problem(f"{path}.cpu", "a Cloud Run vCPU count: one of 1, 2, 4, 6, 8 (below 1 vCPU Cloud Run "
                                       "serves one request at a time)", f"{svc.cpu:g}")]
    low, high = RUN_CPU_MEMORY[cpu]
    if not svc.is_web:
        low = POOL_MIN_MEMORY if cpu <= 2 else low
    if not low <= svc.memory <= high:
        return [Problem(f"{path}.memory", f"for {cpu} vCPU on Cloud Run, MiB {low} to {high}", str(svc.memory))]
    return []


def _probe_problems(svc: Service) -> list[Problem]:
    out = []
    for kind, most in (("startup", STARTUP_PERIOD_MAX), ("liveness", LIVENESS_PERIOD_MAX)):
        probe = getattr(svc.probes, kind)
        if probe.period_seconds > most:
            out.append(Problem(f"services.{svc.name}.probes.{kind}.period_seconds",
                               f"at most {most} (Cloud Run {kind} probe)", str(probe.period_seconds)))
    return out


def check(spec: ServiceSpec) -> list[Problem]:
    """What the spec asks that Cloud Run, Cloud SQL, Memorystore or the load balancer would refuse."""
    settings: Settings = spec.target_settings
    problems: list[Problem] = []
    provider = provider_config()
    if provider["project"] is None or not PROJECT_ID.match(provider["project"]):
        problems.append(ProviderProblem("gcp:project", "a Google Cloud project id (pulumi config set gcp:project …)",
                                        provider["project"] or "nothing"))
    if provider["region"] is None or not REGION.match(provider["region"]):
        problems.append(ProviderProblem("gcp:region", "a region like europe-west1 (pulumi config set gcp:region …)",
                                        provider["region"] or "nothing"))
    for svc in spec.services.values():
        problems += _size_problems(svc)
        if svc.is_web:
            problems += _probe_problems(svc)
    if spec.domain is None and settings.require_tls:
        problems.append(Problem("domain", "a domain for the HTTPS load balancer (this tier serves TLS only)", "nothing"))
    db = spec.database
    if db.enabled:
        major = db.engine_version.split(".")[0]
        if "." in db.engine_version or int(major) not in POSTGRES_MAJORS:
            problems.append(Problem("database.engine_version", "a Postgres major version Cloud SQL offers: "
                                    f"{', '.join(map(str, POSTGRES_MAJORS))}", db.engine_version))
        if db.size not in settings.database_tiers:
            problems.append(Problem("gcp.database_tiers", f"a Cloud SQL tier for size {db.size}", "none"))
        if db.backup_days < 1:
            problems.append(Problem("database.backup_days", "at least 1 (point-in-time recovery needs backups)",
                                    str(db.backup_days)))
        elif settings.transaction_log_days > db.backup_days:
            problems.append(Problem("gcp.transaction_log_days", f"at most database.backup_days ({db.backup_days})",
                                    str(settings.transaction_log_days)))
    if spec.cache.enabled:
        if spec.cache.engine_version not in REDIS_VERSIONS:
            problems.append(Problem("cache.engine_version", "a Redis version Memorystore offers: "
                                    f"{', '.join(REDIS_VERSIONS)}", spec.cache.engine_version))
        if spec.cache.size not in settings.cache_memory_gb:
            problems.append(Problem("gcp.cache_memory_gb", f"a memory size for size {spec.cache.size}", "none"))
    return problems


def deploy(spec: ServiceSpec) -> dict[str, Any]:
    from components.gcp.stack import declare  # keeps `check` importable without declaring anything
    return declare(spec)
