"""Target `aws`: ECS Fargate behind an ALB (ACM TLS, WAF), RDS Postgres, ElastiCache Redis,
Secrets Manager, CloudWatch alarms → SNS. Built from pulumi-aws resources only (no awsx), so every
resource is visible to the mock runtime and every default is ours.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal, Optional

from pydantic import Field, field_validator, model_validator

from infra.errors import Problem
from infra.spec import Model, ServiceSpec, Size

# Fargate's task sizes: CPU units per vCPU value, and the memory (MiB) each allows.
FARGATE_CPU = {0.25: 256, 0.5: 512, 1: 1024, 2: 2048, 4: 4096, 8: 8192, 16: 16384}
FARGATE_MEMORY = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)

VPC_ID = re.compile(r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$")
SUBNET_ID = re.compile(r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$")
ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
# Hosted zone ids that only ever appear in examples: all zeros, or the digits and letters in order.
PLACEHOLDER_ZONE = re.compile(r"^Z(0+|0123456789[A-Z]*)$")
CERT_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate/[0-9a-f-]{36}$")


IDS = {
    "vpc_id": (VPC_ID, "a VPC id like vpc-0a1b2c3d4e5f67890"),
    "zone_id": (ZONE_ID, "a Route53 hosted zone id like Z0123456789ABCDEFGHIJ"),
    "certificate_arn": (CERT_ARN, "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>)"),
}


class Settings(Model):
    """`berth:aws`, merged over the tier's `aws:` section. The tiers supply every default."""

    zones: int = Field(ge=2, le=6)
    nat_gateways: Literal["one", "per_zone"]
    vpc_cidr: str
    # An existing VPC instead of a new one: its id and its subnets (one per zone, each list).
    vpc_id: Optional[str] = None
    public_subnet_ids: tuple[str, ...] = ()
    private_subnet_ids: tuple[str, ...] = ()
    # TLS: a certificate for berth:domain, validated in this Route53 zone, or one given by ARN.
    zone_id: Optional[str] = None
    certificate_arn: Optional[str] = None
    require_tls: bool
    tls_policy: str = Field(pattern=r"^ELBSecurityPolicy-[\w-]+$")
    access_logs_days: int = Field(ge=1, le=3650)
    deregistration_delay_seconds: int = Field(ge=0, le=3600)
    container_insights: Literal["enabled", "enhanced"]
    scale_in_cooldown_seconds: int = Field(ge=0, le=3600)
    scale_out_cooldown_seconds: int = Field(ge=0, le=3600)
    database_instance_classes: dict[Size, str]
    cache_node_types: dict[Size, str]
    cache_snapshot_days: int = Field(ge=0, le=35)
    secret_recovery_days: int = Field(ge=0, le=30)
    registry_force_delete: bool  # a dev stack's repository goes with `pulumi destroy`, images and all
    # The ALB keeps an idle connection this long; the services keep theirs longer (KEEPALIVE_SECONDS).
    alb_idle_timeout_seconds: int = Field(ge=1, le=4000)
    alb_deletion_protection: bool
    flow_logs: bool  # VPC flow logs to CloudWatch Logs, kept log_retention_days
    waf_logs: bool  # WAF request logs to CloudWatch Logs, credentials redacted
    s3_gateway_endpoint: bool  # a new VPC reaches S3 (ECR's image layers) without the NAT gateway
    kms_key_deletion_days: int = Field(ge=7, le=30)  # the alert topic's key: waiting period before deletion
    database_allow_major_version_upgrade: bool
    database_auto_minor_version_upgrade: bool
    # Alarm thresholds only this target has metrics for (the shared ones are berth:alerts).
    alarm_database_connections: dict[Size, int]
    alarm_database_freeable_memory_mb: int = Field(ge=1)
    alarm_cache_evictions: int = Field(ge=0)
    alarm_cache_replication_lag_seconds: float = Field(gt=0)

    @field_validator("vpc_id", "zone_id", "certificate_arn")
    @classmethod
    def _ids(cls, v: Optional[str], info) -> Optional[str]:
        pattern, what = IDS[info.field_name]
        if v is not None and not pattern.match(v):
            raise ValueError(f"{what}, found {v!r}")
        return v

    @field_validator("public_subnet_ids", "private_subnet_ids")
    @classmethod
    def _subnets(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for s in v:
            if not SUBNET_ID.match(s):
                raise ValueError(f"subnet ids like subnet-0a1b2c3d4e5f67890, found {s!r}")
        return v

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr(cls, v: str) -> str:
        try:
            net = ipaddress.IPv4Network(v)
        except ValueError:
            raise ValueError(f"an IPv4 network like 10.0.0.0/16, found {v!r}") from None
        if not 16 <= net.prefixlen <= 20:
            raise ValueError(f"a network from /16 to /20 (room for a subnet per zone), found {v!r}")
        return v

    @field_validator("database_instance_classes")
    @classmethod
    def _db_classes(cls, v: dict) -> dict:
        for size, cls_ in v.items():
            if not re.match(r"^db\.[a-z0-9]+\.[a-z0-9]+$", cls_):
                raise ValueError(f"an RDS instance class like db.t4g.micro for {size}, found {cls_!r}")
        return v

    @field_validator("cache_node_types")
    @classmethod
    def _cache_types(cls, v: dict) -> dict:
        for size, type_ in v.items():
            if not re.match(r"^cache\.[a-z0-9]+\.[a-z0-9]+$", type_):
                raise ValueError(f"an ElastiCache node type like cache.t4g.micro for {size}, found {type_!r}")
        return v

    @field_validator("alarm_database_connections")
    @classmethod
    def _connections(cls, v: dict) -> dict:
        for size, count in v.items():
            if count < 1:
                raise ValueError(f"a connection count ≥ 1 for {size}, found {count}")
        return v

    @model_validator(mode="after")
    def _existing_vpc(self) -> "Settings":
        if self.vpc_id is None and (self.public_subnet_ids or self.private_subnet_ids):
            raise ValueError("subnet ids only with vpc_id, found subnet ids and no vpc_id")
        if self.vpc_id is not None:
            for kind in ("public", "private"):
                ids = getattr(self, f"{kind}_subnet_ids")
                if len(ids) < 2:
                    raise ValueError(f"{kind}_subnet_ids in at least 2 zones with vpc_id, found {len(ids)}")
        return self


def placeholders(spec: ServiceSpec) -> list[Problem]:
    """Example values a real `pulumi up` must not try to use (the offline plan only warns)."""
    settings: Settings = spec.target_settings
    if settings.zone_id is not None and PLACEHOLDER_ZONE.match(settings.zone_id):
        return [Problem("aws.zone_id", "the id of a Route53 hosted zone you own (this one is an example)",
                        settings.zone_id)]
    return []


def _cpu_units(cpu: float) -> Optional[int]:
    return FARGATE_CPU.get(cpu)


def check(spec: ServiceSpec) -> list[Problem]:
    """What the spec asks that Fargate, the ALB, ECS or CloudWatch would refuse."""
    settings: Settings = spec.target_settings
    problems: list[Problem] = []
    for svc in spec.services.values():
        path = f"services.{svc.name}"
        units = _cpu_units(svc.cpu)
        if units is None:
            problems.append(Problem(f"{path}.cpu", "a Fargate vCPU value: one of 0.25, 0.5, 1, 2, 4, 8, 16",
                                    f"{svc.cpu:g}"))
        elif svc.memory not in FARGATE_MEMORY[units]:
            allowed = FARGATE_MEMORY[units]
            shown = ", ".join(map(str, allowed)) if len(allowed) <= 4 else \
                f"{allowed[0]} to {allowed[-1]} in steps of {allowed[1] - allowed[0]}"
            problems.append(Problem(f"{path}.memory", f"for {svc.cpu:g} vCPU on Fargate, MiB {shown}", str(svc.memory)))
        if svc.is_web:
            ready = svc.probes.readiness  # becomes the target group's health check
            rpath = f"{path}.probes.readiness"
            if not 5 <= ready.period_seconds <= 300:
                problems.append(Problem(f"{rpath}.period_seconds", "5 to 300 (ALB health check interval)",
                                        str(ready.period_seconds)))
            if not (2 <= ready.timeout_seconds <= 120 and ready.timeout_seconds < ready.period_seconds):
                problems.append(Problem(f"{rpath}.timeout_seconds", "2 to 120 and less than period_seconds (ALB)",
                                        str(ready.timeout_seconds)))
            if not 2 <= ready.failure_threshold <= 10:
                problems.append(Problem(f"{rpath}.failure_threshold", "2 to 10 (ALB unhealthy threshold)",
                                        str(ready.failure_threshold)))
            live = svc.probes.liveness  # becomes the container health check
            lpath = f"{path}.probes.liveness"
            if not 5 <= live.period_seconds <= 300:
                problems.append(Problem(f"{lpath}.period_seconds", "5 to 300 (ECS health check interval)",
                                        str(live.period_seconds)))
            if not 2 <= live.timeout_seconds <= 60:
                problems.append(Problem(f"{lpath}.timeout_seconds", "2 to 60 (ECS health check timeout)",
                                        str(live.timeout_seconds)))
            if not 1 <= live.failure_threshold <= 10:
                problems.append(Problem(f"{lpath}.failure_threshold", "1 to 10 (ECS health check retries)",
                                        str(live.failure_threshold)))
            if svc.probes.startup.budget_seconds > 300:
                problems.append(Problem(f"{path}.probes.startup",
                                        "period_seconds × failure_threshold ≤ 300 (ECS start period)",
                                        str(svc.probes.startup.budget_seconds)))
    if spec.log_retention_days not in LOG_RETENTION_DAYS:
        problems.append(Problem("log_retention_days",
                                f"a CloudWatch Logs retention: one of {', '.join(map(str, LOG_RETENTION_DAYS))}",
                                str(spec.log_retention_days)))
    if spec.domain is None:
        if settings.require_tls:
            problems.append(Problem("domain", "a domain for the HTTPS listener (this tier serves TLS only)", "nothing"))
        for key in ("zone_id", "certificate_arn"):
            if getattr(settings, key) is not None:
                problems.append(Problem(f"aws.{key}", "berth:domain set as well (it is for that domain)", "no domain"))
    elif settings.zone_id is None and settings.certificate_arn is None:
        problems.append(Problem("aws.zone_id", f"a Route53 zone id to validate a certificate for {spec.domain},"
                                " or aws.certificate_arn", "neither"))
    if settings.vpc_id is None and settings.zones * 2 > 2 ** (24 - ipaddress.IPv4Network(settings.vpc_cidr).prefixlen):
        problems.append(Problem("aws.vpc_cidr", f"room for {settings.zones * 2} /24 subnets", settings.vpc_cidr))
    if spec.database.enabled and spec.database.size not in settings.database_instance_classes:
        problems.append(Problem("aws.database_instance_classes", f"an instance class for size {spec.database.size}",
                                "none"))
    if spec.database.enabled and spec.database.size not in settings.alarm_database_connections:
        problems.append(Problem("aws.alarm_database_connections",
                                f"a connection threshold for size {spec.database.size}", "none"))
    if spec.cache.enabled and spec.cache.size not in settings.cache_node_types:
        problems.append(Problem("aws.cache_node_types", f"a node type for size {spec.cache.size}", "none"))
    if settings.secret_recovery_days not in (0, *range(7, 31)):
        problems.append(Problem("aws.secret_recovery_days", "0 (delete at once) or 7 to 30",
                                str(settings.secret_recovery_days)))
    return problems


def deploy(spec: ServiceSpec) -> dict[str, Any]:
    from components.aws.stack import declare  # keeps `check` importable without declaring anything
    return declare(spec)
