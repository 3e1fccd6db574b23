"""The kubernetes target's composition: which component gets what from the spec."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.common.proxy import proxy_env
from components.common.secrets import AppSecrets, AppSecretsArgs
from components.kubernetes import EXTERNAL_DATABASE_URL, EXTERNAL_REDIS_URL, Settings
from components.kubernetes.alerts import Alerts, AlertsArgs, Watched
from components.kubernetes.cache import PORT as CACHE_PORT, Cache, CacheArgs
from components.kubernetes.database import CLUSTER_LABEL, PORT as DATABASE_PORT, Database, DatabaseArgs
from components.kubernetes.edge import Edge, EdgeArgs, WebBackend
from components.kubernetes.image import AppImage, ImageArgs
from components.kubernetes.migrations import Migrations, MigrationsArgs
from components.kubernetes.names import REDIS, selector
from components.kubernetes.namespace import Namespace, NamespaceArgs
from components.kubernetes.network import Peer
from components.kubernetes.pods import SecretFile, SecretRef
from components.kubernetes.secrets import Secrets, SecretsArgs
from components.kubernetes.tls import InternalCA, InternalCAArgs
from components.kubernetes.workload import Workload, WorkloadArgs
from infra.spec import ServiceSpec


def declare(spec: ServiceSpec) -> dict[str, Any]:
    settings: Settings = spec.target_settings
    provider = k8s.Provider("kubernetes", context=settings.context)
    top = pulumi.ResourceOptions(providers=[provider])
    ns_name = settings.namespace or spec.prefix
    namespace = Namespace("namespace", NamespaceArgs(prefix=spec.prefix, name=ns_name), top)
    ns = namespace.name

    def opts(*depends: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(providers=[provider], depends_on=[namespace, *depends])

    values = dict(AppSecrets("app-secrets", AppSecretsArgs(names=spec.secrets), opts()).values)
    # External URLs reach the app under the names it reads, not under their own.
    external_db, external_cache = values.pop(EXTERNAL_DATABASE_URL, None), values.pop(EXTERNAL_REDIS_URL, None)
    peers: list[Peer] = []
    ready: list[pulumi.Resource] = []
    files: list[SecretFile] = []  # CA certificates every app pod mounts
    client_env: dict[str, str] = {}  # what makes the app's connections verified TLS
    database = None
    if spec.database.enabled and settings.postgres == "cloudnativepg":
        resources = settings.postgres_resources[spec.database.size]
        database = Database("database", DatabaseArgs(
            prefix=spec.prefix, namespace=ns, spec=spec.database, instances=settings.postgres_instances,
            image=settings.postgres_images[spec.database.engine_version.split(".")[0]], cpu=resources.cpu,
            memory=resources.memory,
            storage_class=settings.storage_class, hard_anti_affinity=settings.spread,
            operator_namespace=settings.operator_namespace, monitoring_namespace=settings.monitoring_namespace,
            dns_namespace=settings.dns_namespace, backup_schedule=settings.backup_schedule,
            backup_destination=settings.backup_destination, backup_endpoint_url=settings.backup_endpoint_url,
            backup_credentials_secret=settings.backup_credentials_secret), opts())
        peers.append(Peer(DATABASE_PORT, pods={CLUSTER_LABEL: database.name}))
        ready.append(database)
        files.append(database.ca)
        client_env.update(database.client_env)
    elif spec.database.enabled:
        values["DATABASE_URL"] = external_db
        peers.append(Peer(DATABASE_PORT, cidrs=settings.egress_cidrs))
    if spec.cache.enabled and settings.redis == "statefulset":
        resources = settings.redis_resources[spec.cache.size]
        ca = InternalCA("internal-ca", InternalCAArgs(
            prefix=spec.prefix, cert_manager_namespace=settings.cert_manager_namespace), top)
        cache = Cache("cache", CacheArgs(
            prefix=spec.prefix, namespace=ns, image=settings.redis_image, cpu=resources.cpu,
            memory=resources.memory, storage_gb=settings.redis_storage_gb, storage_class=settings.storage_class,
            dns_namespace=settings.dns_namespace, ca=ca), opts())
        values["REDIS_URL"] = cache.url
        peers.append(Peer(CACHE_PORT, pods=selector(spec.prefix, REDIS)))
        ready.append(cache)
        files.append(cache.ca)
    elif spec.cache.enabled:
        values["REDIS_URL"] = external_cache
        peers.append(Peer(CACHE_PORT, cidrs=settings.egress_cidrs))

    secrets = Secrets("secrets", SecretsArgs(prefix=spec.prefix, namespace=ns, values=values), opts())
    refs: dict[str, SecretRef] = dict(secrets.refs)
    if database is not None:
        refs["DATABASE_URL"] = database.url  # the operator's app Secret
    image = AppImage("image", ImageArgs(prefix=spec.prefix, image=spec.image, registry=settings.registry), opts())

    # Only the ingress controller reaches the web pods (NetworkPolicy), so its X-Forwarded-For is
    # believed from its pods' range and nowhere else; the server outlasts its idle keep-alive.
    base_env = {**spec.base_env, **client_env}
    env = {**base_env, **proxy_env(settings.ingress_pod_cidrs, settings.ingress_idle_timeout_seconds)}
    common = dict(prefix=spec.prefix, namespace=ns, image=image.ref, image_pull_secrets=settings.image_pull_secrets,
                  dns_namespace=settings.dns_namespace, peers=peers, https_cidrs=settings.egress_cidrs, files=files)
    if spec.migrations.enabled and spec.database.enabled:
        first = next(iter(spec.services.values()))
        migrations = Migrations("migrations", MigrationsArgs(
            **common, command=spec.migrations.command, env=base_env, secrets=refs,
            cpu=first.cpu, memory=first.memory, backoff_limit=settings.migration_backoff_limit,
            timeout_seconds=settings.migration_timeout_seconds, depends_on=[secrets, *ready]), opts())
        ready = [*ready, migrations]

    workloads: dict[str, Workload] = {}
    for svc in spec.services.values():
        workloads[svc.name] = Workload(svc.name, WorkloadArgs(
            **common, service=svc, env=env if svc.is_web else base_env, secrets=refs,
            spread=settings.spread, prestop_seconds=settings.prestop_seconds,
            termination_grace_seconds=settings.termination_grace_seconds,
            progress_deadline_seconds=settings.progress_deadline_seconds,
            ingress_namespace=settings.ingress_namespace, monitoring_namespace=settings.monitoring_namespace,
            depends_on=[secrets, *ready]), opts())

    edge = None
    if spec.web_services:
        edge = Edge("edge", EdgeArgs(
            prefix=spec.prefix, namespace=ns,
            backends=[WebBackend(s, workloads[s.name].service.metadata["name"]) for s in spec.web_services],
            domain=spec.domain, ingress_class=settings.ingress_class, cluster_issuer=settings.cluster_issuer,
            rate_limit_per_5min=spec.edge.rate_limit_per_5min,
            idle_timeout_seconds=settings.ingress_idle_timeout_seconds), opts())

    Alerts("alerts", AlertsArgs(
        prefix=spec.prefix, namespace=ns_name, spec=spec.alerts,
        services=[Watched(s.name, workloads[s.name].name, s.is_web) for s in spec.services.values()],
        monitoring_labels=settings.monitoring_labels, dashboard_labels=settings.dashboard_labels,
        dashboard_namespace=settings.dashboard_namespace or ns_name,
        database=database.name if database else None), opts())

    return {
        "url": edge.url if edge else None,
        "namespace": ns,
        "services": {name: w.name for name, w in workloads.items()},
    }
