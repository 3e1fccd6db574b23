"""One worker of the spec as a Cloud Run worker pool: pull-based, no ingress, no URL, no port; as many
instances as the spec's scaling minimum (worker pools scale manually)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import pulumi
import pulumi_gcp as gcp

from components.gcp import names
from components.gcp.run import Runtime, container, identity, volumes, vpc_access
from infra.spec import Service


@dataclass
class WorkerPoolArgs:
    runtime: Runtime
    service: Service
    env: dict[str, pulumi.Input[str]]
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


class WorkerPool(pulumi.ComponentResource):
    pool: gcp.cloudrunv2.WorkerPool
    account: gcp.serviceaccount.Account

    def __init__(self, name: str, args: WorkerPoolArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:gcp:WorkerPool", name, None, opts)
        svc, runtime = args.service, args.runtime
        self.account, grants = identity(self, svc.name, runtime)
        self.pool = gcp.cloudrunv2.WorkerPool(
            f"{svc.name}-pool", name=names.run_service(runtime.prefix, svc.name), location=runtime.region,
            description=f"berth {runtime.prefix}: {svc.name}",
            deletion_protection=runtime.deletion_protection,
            labels={"berth-stack": runtime.prefix, "berth-service": svc.name},
            scaling={"manual_instance_count": svc.scaling.min},
            template={
                "service_account": self.account.email,
                "vpc_access": vpc_access(runtime),
                "containers": [container(svc.name, runtime, {**args.env, **svc.env}, svc.cpu, svc.memory,
                                         svc.command)],
                "volumes": volumes(runtime)[0],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*grants, *args.depends_on]))
        self.register_outputs({"pool": self.pool.name})
