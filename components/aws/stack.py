"""The aws target's composition: which component gets what from the spec."""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws

from components.aws.alerts import Alerts, AlertsArgs, WebTarget
from components.aws.cache import PORT as CACHE_PORT, Cache, CacheArgs
from components.aws.database import PORT as DATABASE_PORT, Database, DatabaseArgs
from components.aws.edge import Edge, EdgeArgs
from components.aws.network import Network, NetworkArgs
from components.aws.registry import Registry, RegistryArgs
from components.aws.secrets import Secrets, SecretsArgs
from components.aws.service import FargateService, FargateServiceArgs
from components.common.secrets import AppSecrets, AppSecretsArgs
from infra.spec import ServiceSpec


def declare(spec: ServiceSpec) -> dict[str, Any]:
    from components.aws import Settings
    settings: Settings = spec.target_settings
    region = aws.get_region_output().region
    tls = spec.domain is not None

    network = Network("network", NetworkArgs(
        prefix=spec.prefix, zones=settings.zones, nat_gateways=settings.nat_gateways, cidr=settings.vpc_cidr,
        vpc_id=settings.vpc_id, public_subnet_ids=settings.public_subnet_ids,
        private_subnet_ids=settings.private_subnet_ids,
        service_ports=[s.port for s in spec.web_services], tls=tls,
        database_port=DATABASE_PORT if spec.database.enabled else None,
        cache_port=CACHE_PORT if spec.cache.enabled else None))

    values = dict(AppSecrets("app-secrets", AppSecretsArgs(names=spec.secrets)).values)
    database = None
    if spec.database.enabled:
        database = Database("database", DatabaseArgs(
            prefix=spec.prefix, spec=spec.database,
            instance_class=settings.database_instance_classes[spec.database.size],
            subnet_ids=network.private_subnet_ids, security_group_id=network.database_sg.id,
            log_retention_days=spec.log_retention_days))
        values["DATABASE_URL"] = database.url
    if spec.cache.enabled:
        cache = Cache("cache", CacheArgs(
            prefix=spec.prefix, spec=spec.cache, node_type=settings.cache_node_types[spec.cache.size],
            subnet_ids=network.private_subnet_ids, security_group_id=network.cache_sg.id,
            snapshot_days=settings.cache_snapshot_days))
        values["REDIS_URL"] = cache.url
    secrets = Secrets("secrets", SecretsArgs(prefix=spec.prefix, values=values,
                                             recovery_days=settings.secret_recovery_days))
    registry = Registry("image", RegistryArgs(prefix=spec.prefix, image=spec.image,
                                                   force_delete=settings.registry_force_delete))

    edge = None
    if spec.web_services:
        edge = Edge("edge", EdgeArgs(
            prefix=spec.prefix, vpc_id=network.vpc_id, subnet_ids=network.public_subnet_ids,
            security_group_id=network.alb_sg.id, web_services=spec.web_services, domain=spec.domain,
            zone_id=settings.zone_id, certificate_arn=settings.certificate_arn, tls_policy=settings.tls_policy,
            rate_limit_per_5min=spec.edge.rate_limit_per_5min, access_logs=spec.edge.access_logs,
            access_logs_days=settings.access_logs_days,
            deregistration_delay_seconds=settings.deregistration_delay_seconds))

    cluster = aws.ecs.Cluster("cluster", name=spec.prefix,
                              settings=[{"name": "containerInsights", "value": settings.container_insights}])
    # Only the ALB reaches the tasks (security groups), so its X-Forwarded-For is the client's
    # address: the service's per-client rate limits must key on it, not on the ALB's address.
    env = {**spec.base_env, "FORWARDED_ALLOW_IPS": "*"}
    migrate = spec.migrations.command if spec.migrations.enabled and spec.database.enabled else None
    services: dict[str, FargateService] = {}
    for svc in spec.services.values():
        services[svc.name] = FargateService(svc.name, FargateServiceArgs(
            prefix=spec.prefix, service=svc, cluster_arn=cluster.arn, cluster_name=cluster.name,
            image=registry.ref, region=region, env=env, secret_arns=secrets.arns,
            repository_arns=registry.pull_arns, subnet_ids=network.private_subnet_ids,
            security_group_id=network.tasks_sg.id, log_retention_days=spec.log_retention_days,
            migrations=migrate, scale_in_cooldown=settings.scale_in_cooldown_seconds,
            scale_out_cooldown=settings.scale_out_cooldown_seconds,
            target_group=edge.target_groups.get(svc.name) if edge else None,
            alb_arn_suffix=edge.alb.arn_suffix if edge else None,
            depends_on=edge.listeners if edge and svc.is_web else []))

    alerts = Alerts("alerts", AlertsArgs(
        prefix=spec.prefix, spec=spec.alerts, region=region, cluster_name=cluster.name,
        services={name: s.service.name for name, s in services.items()},
        min_tasks={s.name: s.scaling.min for s in spec.services.values()},
        alb_arn_suffix=edge.alb.arn_suffix if edge else None,
        web=[WebTarget(name, tg.arn_suffix) for name, tg in (edge.target_groups.items() if edge else [])],
        database_id=database.instance.identifier if database else None))

    return {
        "url": edge.url if edge else None,
        "alb_dns_name": edge.alb.dns_name if edge else None,
        "cluster": cluster.name,
        "services": {name: s.service.name for name, s in services.items()},
        "dashboard_url": alerts.dashboard_url,
        "repository": registry.repository.repository_url,
    }
