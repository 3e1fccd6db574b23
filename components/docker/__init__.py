"""Target `docker`: the whole service on one machine's Docker engine, like the old compose files.

What `pulumi up --stack local` runs for someone with Docker and no cloud account.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_docker as docker
from pydantic import Field

from components.common.secrets import AppSecrets, AppSecretsArgs
from components.docker.cache import Cache, CacheArgs
from components.docker.database import Database, DatabaseArgs
from components.docker.image import AppImage, AppImageArgs
from components.docker.service import ContainerService, ContainerServiceArgs, Migrations, MigrationsArgs
from infra.errors import Problem
from infra.spec import Model, ServiceSpec

class Settings(Model):
    host_port: int = Field(ge=1024, le=65535)  # the first web service's port on the host; the next get +1, +2…
    bind_address: str = Field(pattern=r"^(127\.\d+\.\d+\.\d+|0\.0\.0\.0|::1)$")


def check(spec: ServiceSpec) -> list[Problem]:
    """Docker runs any size the spec allows; what can clash is the host ports of the web services."""
    problems = []
    settings: Settings = spec.target_settings
    last = settings.host_port + len(spec.web_services) - 1
    if last > 65535:
        problems.append(Problem("docker.host_port", f"a port ≤ {65535 - len(spec.web_services) + 1}",
                                str(settings.host_port)))
    return problems


def deploy(spec: ServiceSpec) -> dict[str, Any]:
    settings: Settings = spec.target_settings
    secrets = AppSecrets("secrets", AppSecretsArgs(names=spec.secrets)).values
    network = docker.Network("network", name=spec.prefix, driver="bridge")
    ready: list[pulumi.Resource] = []
    if spec.database.enabled:
        database = Database("database", DatabaseArgs(
            prefix=spec.prefix, network=network.name,
            engine_version=spec.database.engine_version, name=spec.database.name))
        secrets = {**secrets, "DATABASE_URL": database.url}
        ready.append(database)
    if spec.cache.enabled:
        cache = Cache("cache", CacheArgs(prefix=spec.prefix, network=network.name,
                                         engine_version=spec.cache.engine_version))
        secrets = {**secrets, "REDIS_URL": cache.url}
        ready.append(cache)
    image = AppImage("image", AppImageArgs(prefix=spec.prefix, image=spec.image))
    env = spec.base_env
    if spec.migrations.enabled:
        migrations = Migrations("migrations", MigrationsArgs(
            prefix=spec.prefix, command=spec.migrations.command, image=image.ref,
            network=network.name, env=env, secrets=secrets, depends_on=ready))
        ready = [*ready, migrations]

    urls = {}
    for index, svc in enumerate(spec.web_services):
        port = settings.host_port + index
        ContainerService(svc.name, ContainerServiceArgs(
            prefix=spec.prefix, service=svc, image=image.ref, network=network.name, env=env,
            secrets=secrets, host_port=port, bind_address=settings.bind_address, depends_on=ready))
        host = "localhost" if settings.bind_address.startswith("127.") else settings.bind_address
        urls[svc.name] = f"http://{host}:{port}"
    for svc in spec.workers:
        ContainerService(svc.name, ContainerServiceArgs(
            prefix=spec.prefix, service=svc, image=image.ref, network=network.name, env=env,
            secrets=secrets, depends_on=ready))

    return {
        "url": next(iter(urls.values()), None),
        "urls": urls,
        "services": sorted(spec.services),
        "network": network.name,
    }
