"""Redis in a container with a password, healthy before anything depends on it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.common.secrets import password
from components.common.urls import redis_url

PORT = 6379


@dataclass
class CacheArgs:
    prefix: str
    network: pulumi.Input[str]
    engine_version: str


class Cache(pulumi.ComponentResource):
    url: pulumi.Output[str]
    container: docker.Container

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:docker:Cache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        secret = password("cache-password", self)
        image = docker.RemoteImage("redis", name=f"redis:{args.engine_version}-alpine", keep_locally=True, opts=child)
        self.container = docker.Container(
            "redis",
            name=f"{args.prefix}-cache",
            image=image.image_id,
            envs=[pulumi.Output.secret(pulumi.Output.concat("REDIS_PASSWORD=", secret))],
            # The password comes from the environment, so it is never in the container's command line.
            command=["sh", "-c", 'exec redis-server --requirepass "$REDIS_PASSWORD" --appendonly yes'],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network, aliases=["cache"])],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD-SHELL", 'redis-cli -a "$REDIS_PASSWORD" --no-auth-warning ping | grep -q PONG'],
                interval="5s", timeout="3s", retries=10, start_period="5s",
            ),
            restart="unless-stopped",
            wait=True,
            wait_timeout=60,
            opts=child,
        )
        self.url = redis_url(secret, "cache", PORT)
        self.register_outputs({"container": self.container.name})
