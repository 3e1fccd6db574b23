"""Target `kubernetes`: any cluster a kubeconfig context reaches. Deployments behind an ingress-nginx
Ingress with cert-manager TLS, HorizontalPodAutoscalers, PodDisruptionBudgets, NetworkPolicies,
Postgres by CloudNativePG (or an external URL), Redis as a StatefulSet (or an external URL), and
Prometheus-operator alerts. Built from pulumi-kubernetes resources only, so every object is visible
to the mock runtime and `plan --render-dir` writes each one as a manifest.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal, Optional

from pydantic import Field, field_validator

from components.kubernetes.names import LABEL, RESERVED_SERVICE_NAMES
from infra.errors import Problem
from infra.spec import Model, ServiceSpec, Size

# The names of the secrets (in berth:secrets) that carry the URLs in `external` mode.
EXTERNAL_DATABASE_URL = "EXTERNAL_DATABASE_URL"
EXTERNAL_REDIS_URL = "EXTERNAL_REDIS_URL"
# cert-manager's ClusterIssuer and Kubernetes object names: RFC 1123 subdomains.
SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# A label key (optional DNS prefix, then a name of ≤ 63) and a label value (≤ 63, may be empty).
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                       r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
# A six-field cron (seconds first), as CloudNativePG's ScheduledBackup reads it.
CRON6 = re.compile(r"^(\S+\s+){5}\S+$")
IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$")


def image_tag(image: str) -> Optional[str]:
    """`16.15-…` of `ghcr.io/cloudnative-pg/postgresql:16.15-…@sha256:…` (None without a tag)."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def tagged_as(image: str, version: str) -> bool:
    """The image's tag states this version: `7.0` for `redis:7.0.15-alpine@…`, not for `7.4.2`."""
    tag = image_tag(image)
    return tag is not None and re.match(rf"{re.escape(version)}(?![0-9])", tag) is not None


class Resources(Model):
    """Requests and limits of one container: vCPU and MiB."""

    cpu: float = Field(gt=0, le=64)
    memory: int = Field(ge=64, le=1_048_576)


class Settings(Model):
    """`berth:kubernetes`, merged over the tier's `kubernetes:` section. The tiers supply every default."""

    context: Optional[str] = None  # kubeconfig context; None: the current one
    namespace: Optional[str] = Field(default=None, max_length=63, pattern=rf"^{LABEL}$")  # None: <project>-<stack>
    registry: Optional[str] = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.:-]*(/[a-z0-9._-]+)*$")
    image_pull_secrets: tuple[str, ...] = ()
    require_tls: bool
    ingress_class: str = Field(pattern=SUBDOMAIN)
    cluster_issuer: str = Field(pattern=SUBDOMAIN)
    cert_manager_namespace: str = Field(pattern=rf"^{LABEL}$")  # cert-manager's cluster resource namespace
    ingress_namespace: str = Field(pattern=rf"^{LABEL}$")
    ingress_pod_cidrs: tuple[str, ...] = Field(min_length=1)
    ingress_idle_timeout_seconds: int = Field(ge=1, le=3600)
    monitoring_namespace: str = Field(pattern=rf"^{LABEL}$")
    monitoring_labels: dict[str, str]
    dashboard_labels: dict[str, str]
    dashboard_namespace: Optional[str] = Field(default=None, pattern=rf"^{LABEL}$")  # None: the stack's
    dns_namespace: str = Field(pattern=rf"^{LABEL}$")
    egress_cidrs: tuple[str, ...] = ()
    spread: bool
    prestop_seconds: int = Field(ge=0, le=120)
    termination_grace_seconds: int = Field(ge=1, le=3600)
    progress_deadline_seconds: int = Field(ge=30, le=3600)
    migration_backoff_limit: int = Field(ge=0, le=10)
    migration_timeout_seconds: int = Field(ge=30, le=86400)
    postgres: Literal["cloudnativepg", "external"]
    postgres_instances: int = Field(ge=1, le=9)
    postgres_images: dict[str, str]  # Postgres major → image (pinned by digest in the tiers)
    postgres_resources: dict[Size, Resources]
    operator_namespace: str = Field(pattern=rf"^{LABEL}$")
    storage_class: Optional[str] = Field(default=None, pattern=SUBDOMAIN)
    backup_schedule: Optional[str] = None
    backup_destination: Optional[str] = Field(default=None, pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[\w./-]*)?$")
    backup_endpoint_url: Optional[str] = Field(default=None, pattern=r"^https?://\S+$")
    backup_credentials_secret: Optional[str] = Field(default=None, pattern=SUBDOMAIN)
    redis: Literal["statefulset", "external"]
    redis_image: str = Field(pattern=r"^[a-z0-9][a-z0-9._/:@-]*$")  # its tag names cache.engine_version
    redis_resources: dict[Size, Resources]
    redis_storage_gb: int = Field(ge=1, le=16384)

    @field_validator("ingress_pod_cidrs", "egress_cidrs")
    @classmethod
    def _cidrs(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in v:
            try:
                ipaddress.ip_network(cidr)
            except ValueError:
                raise ValueError(f"CIDR ranges like 10.244.0.0/16, found {cidr!r}") from None
        return v

    @field_validator("monitoring_labels", "dashboard_labels")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if not LABEL_KEY.match(key) or not LABEL_VALUE.match(str(value)):
                raise ValueError(f"Kubernetes labels (key: value ≤ 63 characters), found {key}: {value!r}")
        return v

    @field_validator("image_pull_secrets")
    @classmethod
    def _secret_names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            if not re.match(SUBDOMAIN, name):
                raise ValueError(f"Secret names (RFC 1123 subdomains), found {name!r}")
        return v

    @field_validator("postgres_images")
    @classmethod
    def _images(cls, v: dict[str, str]) -> dict[str, str]:
        for major, image in v.items():
            if not re.fullmatch(r"\d+", major) or not IMAGE.match(image):
                raise ValueError("Postgres majors to images, like \"16\": "
                                 f"ghcr.io/cloudnative-pg/postgresql:16.…@sha256:…, found {major}: {image!r}")
        return v

    @field_validator("backup_schedule")
    @classmethod
    def _cron(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not CRON6.match(v):
            raise ValueError(f"a six-field cron, seconds first, like '0 0 3 * * *', found {v!r}")
        return v


# A registry or bucket named after the examples (`ghcr.io/example/…`, `s3://…-example/…`).
PLACEHOLDER_LOCATION = re.compile(r"(^|[./:-])example([./-]|$)")


def placeholders(spec: ServiceSpec) -> list[Problem]:
    """Example values a real `pulumi up` must not try to use (the offline plan only warns)."""
    settings: Settings = spec.target_settings
    return [Problem(f"kubernetes.{key}", "a location you own (this one is an example)", value)
            for key, value in (("registry", settings.registry), ("backup_destination", settings.backup_destination))
            if value is not None and PLACEHOLDER_LOCATION.search(value)]


def check(spec: ServiceSpec) -> list[Problem]:
    """What the spec asks that the cluster, its operators or this target would refuse."""
    settings: Settings = spec.target_settings
    problems: list[Problem] = []
    for svc in spec.services.values():
        if svc.name in RESERVED_SERVICE_NAMES:
            problems.append(Problem(f"services.{svc.name}", "a name other than "
                                    f"{', '.join(sorted(RESERVED_SERVICE_NAMES))} (the kubernetes target names "
                                    "its own objects so)", svc.name))
        if svc.scaling.min < 1:
            problems.append(Problem(f"services.{svc.name}.scaling.min",
                                    "at least 1 (a HorizontalPodAutoscaler's minReplicas)", str(svc.scaling.min)))
    if spec.image.build is not None and settings.registry is None:
        problems.append(Problem("kubernetes.registry", "a registry to push the image built from "
                                f"{spec.image.build}/ to (or image.ref)", "nothing"))
    if spec.domain is None and settings.require_tls:
        problems.append(Problem("domain", "a domain for the Ingress's certificate (this tier serves TLS only)",
                                "nothing"))
    if settings.termination_grace_seconds <= settings.prestop_seconds:
        problems.append(Problem("kubernetes.termination_grace_seconds",
                                f"more than prestop_seconds ({settings.prestop_seconds}): in-flight requests "
                                "need time after the pause", str(settings.termination_grace_seconds)))
    database = spec.database.enabled
    if database and settings.postgres == "cloudnativepg":
        version = spec.database.engine_version
        image = settings.postgres_images.get(version.split(".")[0])
        if image is None:
            problems.append(Problem("kubernetes.postgres_images", f"an image for Postgres {version} "
                                    "(database.engine_version)", ", ".join(sorted(settings.postgres_images)) or "none"))
        elif not tagged_as(image, version):
            problems.append(Problem("kubernetes.postgres_images", f"an image whose tag states Postgres {version} "
                                    "(database.engine_version), like ghcr.io/cloudnative-pg/postgresql:"
                                    f"{version}…@sha256:…", image))
        if spec.database.size not in settings.postgres_resources:
            problems.append(Problem("kubernetes.postgres_resources", f"resources for size {spec.database.size}",
                                    "none"))
        if settings.backup_schedule is not None and settings.backup_destination is None:
            problems.append(Problem("kubernetes.backup_destination",
                                    "an object store path (s3://bucket/path) for the scheduled backups", "nothing"))
        if spec.database.ha and settings.postgres_instances < 2:
            problems.append(Problem("kubernetes.postgres_instances", "at least 2 with database.ha",
                                    str(settings.postgres_instances)))
    if database and settings.postgres == "external" and EXTERNAL_DATABASE_URL not in spec.secrets:
        problems.append(Problem("secrets", f"{EXTERNAL_DATABASE_URL} listed (the external database's URL, "
                                "set with pulumi config set --secret)", "no such secret"))
    external = [k for k, on in (("postgres", database), ("redis", spec.cache.enabled))
                if on and getattr(settings, k) == "external"]
    if external and not settings.egress_cidrs:
        problems.append(Problem("kubernetes.egress_cidrs", f"the ranges the external {' and '.join(external)} "
                                "are in (the pods' egress is denied elsewhere)", "none"))
    if spec.cache.enabled and settings.redis == "statefulset":
        if spec.cache.size not in settings.redis_resources:
            problems.append(Problem("kubernetes.redis_resources", f"resources for size {spec.cache.size}", "none"))
        # The image is the version: the tiers' cache.engine_version must be what runs.
        if not tagged_as(settings.redis_image, spec.cache.engine_version):
            problems.append(Problem("kubernetes.redis_image", f"an image whose tag states Redis "
                                    f"{spec.cache.engine_version} (cache.engine_version), like "
                                    f"redis:{spec.cache.engine_version}.…-alpine@sha256:…", settings.redis_image))
    if spec.cache.enabled and settings.redis == "external" and EXTERNAL_REDIS_URL not in spec.secrets:
        problems.append(Problem("secrets", f"{EXTERNAL_REDIS_URL} listed (the external Redis's URL, "
                                "set with pulumi config set --secret)", "no such secret"))
    return problems


def deploy(spec: ServiceSpec) -> dict[str, Any]:
    from components.kubernetes.stack import declare  # keeps `check` importable without declaring anything
    return declare(spec)
