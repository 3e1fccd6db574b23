"""The gcp target's composition: which component gets what from the spec."""

from __future__ import annotations

from typing import Any

import pulumi

from components.common.proxy import proxy_env
from components.common.secrets import AppSecrets, AppSecretsArgs
from components.gcp import REDIS_VERSIONS, Settings, names, provider_config
from components.gcp.alerts import Alerts, AlertsArgs, WebTarget
from components.gcp.cache import Cache, CacheArgs
from components.gcp.database import Database, DatabaseArgs
from components.gcp.edge import Edge, EdgeArgs
from components.gcp.migrations import Migrations, MigrationsArgs
from components.gcp.network import Network, NetworkArgs
from components.gcp.registry import Registry, RegistryArgs
from components.gcp.run import Runtime
from components.gcp.secrets import Secrets, SecretsArgs
from components.gcp.service import CloudRunService, CloudRunServiceArgs
from components.gcp.worker import WorkerPool, WorkerPoolArgs
from infra.spec import ServiceSpec

# The proxies in front of a Cloud Run service behind the global external load balancer, as the
# service sees them. Its TCP peer is Cloud Run's own front end inside the instance's sandbox, on a
# link-local address nothing outside can use. The load balancer appends `<client>, <its own
# address>` to X-Forwarded-For; its address is added per stack. Google's front ends (the load
# balancer's proxies) are the documented 35.191.0.0/16 and 130.211.0.0/22. Walking the header from
# the right past these, the first address left is the one the load balancer saw: anything a client
# wrote itself stands further left and is never taken.
CLOUD_RUN_PEER = "169.254.0.0/16"
GOOGLE_FRONT_ENDS = ("35.191.0.0/16", "130.211.0.0/22")


def trusted_proxies(load_balancer_ip: str) -> list[str]:
    return [CLOUD_RUN_PEER, *GOOGLE_FRONT_ENDS, f"{load_balancer_ip}/32"]


def declare(spec: ServiceSpec) -> dict[str, Any]:
    settings: Settings = spec.target_settings
    provider = provider_config()
    project, region = provider["project"], provider["region"]
    db_on, cache_on = spec.database.enabled, spec.cache.enabled

    network = Network("network", NetworkArgs(
        prefix=spec.prefix, project=project, region=region, subnet_cidr=settings.subnet_cidr,
        private_services_prefix_length=settings.private_services_prefix_length,
        network=settings.network, subnetwork=settings.subnetwork, private_services=db_on or cache_on))

    values = dict(AppSecrets("app-secrets", AppSecretsArgs(names=spec.secrets)).values)
    database = cache = None
    if db_on:
        database = Database("database", DatabaseArgs(
            prefix=spec.prefix, spec=spec.database, region=region,
            tier=settings.database_tiers[spec.database.size], edition=settings.database_edition,
            network_id=network.network_id, peering=network.peering,
            transaction_log_days=settings.transaction_log_days, final_backup_days=settings.final_backup_days))
        values["DATABASE_URL"] = database.url
    if cache_on:
        cache = Cache("cache", CacheArgs(
            prefix=spec.prefix, spec=spec.cache, region=region, redis_version=REDIS_VERSIONS[spec.cache.engine_version],
            memory_gb=settings.cache_memory_gb[spec.cache.size], network_id=network.network_id,
            peering=network.peering))
        values["REDIS_URL"] = cache.url
        values["REDIS_CA"] = cache.ca
    secrets = Secrets("secrets", SecretsArgs(prefix=spec.prefix, values=values,
                                             deletion_protection=settings.deletion_protection))
    env_secrets = {k: ref for k, ref in secrets.refs.items() if k != "REDIS_CA"}  # the CA is a file, not env
    registry = Registry("image", RegistryArgs(
        prefix=spec.prefix, region=region, project=project, image=spec.image,
        keep_releases=settings.registry_keep_releases, untagged_days=settings.registry_untagged_days,
        max_age_days=settings.registry_max_age_days, protect=settings.registry_protect))

    runtime = Runtime(
        prefix=spec.prefix, project=project, region=region, image=registry.ref, env=spec.base_env,
        secrets=env_secrets, redis_ca=secrets.refs.get("REDIS_CA"), network=network.network_name,
        subnetwork=network.subnetwork_name, vpc_egress=settings.vpc_egress,
        deletion_protection=settings.deletion_protection, database=db_on)

    gate: list[pulumi.Resource] = []
    if spec.migrations.enabled and db_on:
        migrations = Migrations("migrations", MigrationsArgs(
            runtime=runtime, command=spec.migrations.command, env=spec.base_env, release=registry.release,
            timeout_seconds=settings.migration_timeout_seconds, retries=settings.migration_retries))
        gate = [migrations.job]

    # The edge comes before the services: its address is one of the proxies they trust.
    edge, edge_address = None, None
    web_env: dict[str, pulumi.Input[str]] = dict(spec.base_env)
    if spec.web_services:
        edge = Edge("edge", EdgeArgs(
            prefix=spec.prefix, region=region, web_services=spec.web_services,
            run_services={s.name: names.run_service(spec.prefix, s.name) for s in spec.web_services},
            domain=spec.domain,
            tls_profile=settings.tls_profile, min_tls_version=settings.min_tls_version,
            keepalive_seconds=settings.lb_keepalive_seconds,
            rate_limit_count=round(spec.edge.rate_limit_per_5min * settings.rate_limit_interval_seconds / 300),
            rate_limit_interval_seconds=settings.rate_limit_interval_seconds, access_logs=spec.edge.access_logs))
        edge_address = edge.address.address
        proxy = edge_address.apply(lambda ip: proxy_env(trusted_proxies(ip), settings.lb_keepalive_seconds))
        for key in ("FORWARDED_ALLOW_IPS", "KEEPALIVE_SECONDS"):
            web_env[key] = proxy.apply(lambda env, key=key: env[key])

    services: dict[str, CloudRunService] = {}
    pools: dict[str, WorkerPool] = {}
    for svc in spec.services.values():
        if svc.is_web:
            services[svc.name] = CloudRunService(svc.name, CloudRunServiceArgs(
                runtime=runtime, service=svc, env=web_env, concurrency=settings.concurrency,
                request_timeout_seconds=settings.request_timeout_seconds, run_app_url=settings.run_app_url,
                depends_on=gate))
        else:
            pools[svc.name] = WorkerPool(svc.name, WorkerPoolArgs(
                runtime=runtime, service=svc, env=spec.base_env, depends_on=gate))

    alerts = Alerts("alerts", AlertsArgs(
        prefix=spec.prefix, project=project, spec=spec.alerts, host=edge.host if edge else None,
        tls=bool(edge and edge.tls), uptime_period_seconds=settings.uptime_check_period_seconds,
        web=[WebTarget(
            name=s.name, run_service=services[s.name].service.name, backend=edge.backends[s.name].name,
            path=edge.public_path(s.name, s.probes.readiness.path), timeout_seconds=s.probes.readiness.timeout_seconds) for s in spec.web_services],
        workers={name: p.pool.name for name, p in pools.items()},
        database_instance=database.instance.name if database else None,
        redis_instance=pulumi.Output.format("projects/{0}/locations/{1}/instances/{2}", project, region,
                                            cache.instance.name) if cache else None))

    return {
        "url": edge.url if edge else None,
        "load_balancer_ip": edge_address,
        "services": {**{n: s.service.name for n, s in services.items()}, **{n: p.pool.name for n, p in pools.items()}},
        "dashboard_url": alerts.dashboard_url,
        "repository": registry.url,
    }
