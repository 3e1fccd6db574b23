"""Postgres in a container, its data on a named volume, healthy before anything depends on it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.common.secrets import password
from components.common.urls import postgres_url

USER = "app"
PORT = 5432


@dataclass
class DatabaseArgs:
    prefix: str
    network: pulumi.Input[str]
    engine_version: str
    name: str


class Database(pulumi.ComponentResource):
    url: pulumi.Output[str]
    container: docker.Container

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:docker:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        secret = password("database-password", self)
        image = docker.RemoteImage(
            "postgres", name=f"postgres:{args.engine_version}-alpine", keep_locally=True, opts=child
        )
        volume = docker.Volume("data", name=f"{args.prefix}-database", opts=child)
        self.container = docker.Container(
            "postgres",
            name=f"{args.prefix}-database",
            image=image.image_id,
            envs=[
                f"POSTGRES_USER={USER}",
                f"POSTGRES_DB={args.name}",
                pulumi.Output.secret(pulumi.Output.concat("POSTGRES_PASSWORD=", secret)),
            ],
            volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path="/var/lib/postgresql/data")],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network, aliases=["database"])],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD-SHELL", f"pg_isready -U {USER} -d {args.name}"],
                interval="5s", timeout="3s", retries=10, start_period="10s",
            ),
            restart="unless-stopped",
            wait=True,  # `pulumi up` waits for healthy, so migrations never race a starting database
            wait_timeout=120,
            opts=child,
        )
        # No published port: only containers on the stack's network reach the database.
        self.url = postgres_url(USER, secret, "database", PORT, args.name)
        self.register_outputs({"container": self.container.name})
