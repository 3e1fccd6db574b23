"""The aws target's composition: which component gets what from the spec."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.alerts import Alerts, AlertsArgs, StoreThresholds, WebTarget
from components.aws.cache import PORT as CACHE_PORT, Cache, CacheArgs
from components.aws.database import PORT as DATABASE_PORT, Database, DatabaseArgs
from components.aws.edge import Edge, EdgeArgs
from components.aws.network import Network, NetworkArgs
from components.aws.registry import Registry, RegistryArgs
from components.aws.secrets import Secrets, SecretsArgs
from components.aws.service import FargateService, FargateServiceArgs
from components.common.proxy import proxy_env
from components.common.secrets import AppSecrets, AppSecretsArgs
from infra.spec import ServiceSpec


def trusted_proxy_env(cidrs: pulumi.Output[list[str]], idle_timeout_seconds: int) -> dict[str, pulumi.Output[str]]:
    """The proxy env contract with the VPC's ranges as the trusted proxies: only the ALB (in the
    VPC, the only way in) reaches the tasks, so its X-Forwarded-For entry is the client's address
    and nothing a client writes into the header is believed."""
    env = cidrs.apply(lambda c: proxy_env(c, idle_timeout_seconds))
    keys = proxy_env(["127.0.0.1"], idle_timeout_seconds)  # the contract's keys; values come from env
    return {key: env.apply(lambda e, key=key: e[key]) for key in keys}


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
        cache_port=CACHE_PORT if spec.cache.enabled else None,
        region=region, flow_logs=settings.flow_logs, s3_gateway_endpoint=settings.s3_gateway_endpoint,
        log_retention_days=spec.log_retention_days))

    values = dict(AppSecrets("app-secrets", AppSecretsArgs(names=spec.secrets)).values)
    database = None
    if spec.database.enabled:
        database = Database("database", DatabaseArgs(
            prefix=spec.prefix, spec=spec.database,
            instance_class=settings.database_instance_classes[spec.database.size],
            subnet_ids=network.private_subnet_ids, security_group_id=network.database_sg.id,
            log_retention_days=spec.log_retention_days,
            allow_major_version_upgrade=settings.database_allow_major_version_upgrade,
            auto_minor_version_upgrade=settings.database_auto_minor_version_upgrade))
        values["DATABASE_URL"] = database.url
    cache = None
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
            deregistration_delay_seconds=settings.deregistration_delay_seconds, region=region,
            idle_timeout_seconds=settings.alb_idle_timeout_seconds,
            deletion_protection=settings.alb_deletion_protection, waf_logs=settings.waf_logs,
            log_retention_days=spec.log_retention_days))

    cluster = aws.ecs.Cluster("cluster", name=spec.prefix,
                              settings=[{"name": "containerInsights", "value": settings.container_insights}])
    # Web services trust X-Forwarded-For from the VPC's ranges only (the ALB); workers serve nothing.
    web_env = {**spec.base_env, **trusted_proxy_env(network.cidrs, settings.alb_idle_timeout_seconds)}
    migrate = spec.migrations.command if spec.migrations.enabled and spec.database.enabled else None
    services: dict[str, FargateService] = {}
    for svc in spec.services.values():
        services[svc.name] = FargateService(svc.name, FargateServiceArgs(
            prefix=spec.prefix, service=svc, cluster_arn=cluster.arn, cluster_name=cluster.name,
            image=registry.ref, region=region, env=web_env if svc.is_web else spec.base_env,
            secret_arns=secrets.arns,
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
        database_id=database.instance.identifier if database else None,
        cache_nodes=cache.node_ids if cache else [], cache_ha=spec.cache.ha,
        key_deletion_days=settings.kms_key_deletion_days,
        thresholds=StoreThresholds(
            database_connections=settings.alarm_database_connections[spec.database.size] if database else 0,
            database_freeable_memory_mb=settings.alarm_database_freeable_memory_mb,
            cache_evictions=settings.alarm_cache_evictions,
            cache_replication_lag_seconds=settings.alarm_cache_replication_lag_seconds)))

    return {
        "url": edge.url if edge else None,
        "alb_dns_name": edge.alb.dns_name if edge else None,
        "cluster": cluster.name,
        "services": {name: s.service.name for name, s in services.items()},
        "dashboard_url": alerts.dashboard_url,
        "repository": registry.repository.repository_url,
    }
