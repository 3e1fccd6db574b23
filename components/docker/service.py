"""One service of the spec as a hardened container; web services publish a port on the host."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

from infra.spec import Probe, Service

NO_HEALTHCHECK = docker.ContainerHealthcheckArgs(tests=["NONE"])


def http_check(port: int, probe: Probe, start: Probe) -> docker.ContainerHealthcheckArgs:
    """Docker's one health check, on the liveness path; the startup budget becomes its start period."""
    url = f"http://127.0.0.1:{port}{probe.path}"
    return docker.ContainerHealthcheckArgs(
        # The slim image has no curl; python is always there.
        tests=["CMD", "python", "-c", f"import urllib.request; urllib.request.urlopen('{url}', timeout={probe.timeout_seconds})"],
        interval=f"{probe.period_seconds}s",
        timeout=f"{probe.timeout_seconds}s",
        retries=probe.failure_threshold,
        start_period=f"{start.budget_seconds}s",
    )


def environment(plain: dict[str, str], secret: dict[str, pulumi.Input[str]]) -> list[pulumi.Input[str]]:
    """`NAME=value` entries; each secret entry stays a secret Output, so state holds it encrypted."""
    entries: list[pulumi.Input[str]] = [f"{k}={v}" for k, v in sorted(plain.items())]
    entries += [pulumi.Output.secret(pulumi.Output.concat(f"{k}=", v)) for k, v in sorted(secret.items())]
    return entries


@dataclass
class ContainerServiceArgs:
    prefix: str
    service: Service
    image: pulumi.Input[str]
    network: pulumi.Input[str]
    env: dict[str, str]
    secrets: dict[str, pulumi.Input[str]]
    host_port: Optional[int] = None
    bind_address: str = "127.0.0.1"
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


class ContainerService(pulumi.ComponentResource):
    container: docker.Container

    def __init__(self, name: str, args: ContainerServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:docker:Service", name, None, opts)
        svc = args.service
        ports = []
        if svc.is_web:
            ports = [docker.ContainerPortArgs(internal=svc.port, external=args.host_port, ip=args.bind_address)]
        self.container = docker.Container(
            svc.name,
            name=f"{args.prefix}-{svc.name}",
            image=args.image,
            command=list(svc.command) if svc.command else None,
            envs=environment({**args.env, **svc.env, **({"PORT": str(svc.port)} if svc.port else {})}, args.secrets),
            ports=ports,
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network, aliases=[svc.name])],
            # A worker serves no HTTP, so the image's HEALTHCHECK on /liveness must not apply to it.
            healthcheck=http_check(svc.port, svc.probes.liveness, svc.probes.startup) if svc.is_web else NO_HEALTHCHECK,
            user="10001:10001",
            read_only=True,
            tmpfs={"/tmp": "rw,noexec,nosuid,size=64m"},
            capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"]),
            security_opts=["no-new-privileges:true"],
            memory=svc.memory,
            cpu_shares=max(2, int(svc.cpu * 1024)),
            restart="unless-stopped",
            wait=svc.is_web,  # `pulumi up` fails if the web container never turns healthy
            wait_timeout=max(60, svc.probes.startup.budget_seconds + 30),
            destroy_grace_seconds=30,  # SIGTERM first: in-flight requests finish
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.register_outputs({"container": self.container.name})


@dataclass
class MigrationsArgs:
    prefix: str
    command: Sequence[str]
    image: pulumi.Input[str]
    network: pulumi.Input[str]
    env: dict[str, str]
    secrets: dict[str, pulumi.Input[str]]
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


class Migrations(pulumi.ComponentResource):
    """Runs the migrations command to completion; every service container depends on it."""

    container: docker.Container

    def __init__(self, name: str, args: MigrationsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:docker:Migrations", name, None, opts)
        self.container = docker.Container(
            "migrate",
            name=f"{args.prefix}-migrate",
            image=args.image,
            command=list(args.command),
            envs=environment(args.env, args.secrets),
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network)],
            healthcheck=NO_HEALTHCHECK,
            user="10001:10001",
            read_only=True,
            tmpfs={"/tmp": "rw,noexec,nosuid,size=16m"},
            capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"]),
            security_opts=["no-new-privileges:true"],
            attach=True,  # wait for the command to exit; a failed migration fails `pulumi up`
            must_run=False,
            logs=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.register_outputs({"container": self.container.name})
