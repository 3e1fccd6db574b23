"""One web service of the spec on Cloud Run v2: its own service account, a startup probe on the
startup path and a liveness probe on the liveness path with the spec's timings, secrets by pinned
version, ingress only from the load balancer (and the VPC), autoscaling between the spec's min and
max, startup CPU boost. The migration job of the release runs to completion first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import pulumi
import pulumi_gcp as gcp

from components.gcp import names
from components.gcp.run import Runtime, container, identity, volumes, vpc_access
from infra.spec import Probe, Service


@dataclass
class CloudRunServiceArgs:
    runtime: Runtime
    service: Service
    env: dict[str, pulumi.Input[str]]  # the stack's env plus the proxy contract
    concurrency: int
    request_timeout_seconds: int
    run_app_url: bool
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)  # the release's migration job


def probe(p: Probe, port: int) -> dict:
    return {"http_get": {"path": p.path, "port": port}, "period_seconds": p.period_seconds,
            "timeout_seconds": p.timeout_seconds, "failure_threshold": p.failure_threshold,
            "initial_delay_seconds": 0}


class CloudRunService(pulumi.ComponentResource):
    service: gcp.cloudrunv2.Service
    account: gcp.serviceaccount.Account

    def __init__(self, name: str, args: CloudRunServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:gcp:CloudRunService", name, None, opts)
        svc, runtime = args.service, args.runtime
        self.account, grants = identity(self, svc.name, runtime)
        app = container(svc.name, runtime, {**args.env, **svc.env}, svc.cpu, svc.memory, svc.command,
                        ports={"name": "http1", "container_port": svc.port},  # Cloud Run sets PORT from it
                        startup_probe=probe(svc.probes.startup, svc.port),
                        liveness_probe=probe(svc.probes.liveness, svc.port))
        # CPU only while serving (background work belongs in a worker), boosted while starting.
        app["resources"].update({"cpu_idle": True, "startup_cpu_boost": True})
        self.service = gcp.cloudrunv2.Service(
            f"{svc.name}-service", name=names.run_service(runtime.prefix, svc.name), location=runtime.region,
            description=f"berth {runtime.prefix}: {svc.name}",
            ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
            default_uri_disabled=not args.run_app_url,
            # The load balancer calls without credentials: ingress, not IAM, keeps everyone else out.
            invoker_iam_disabled=True,
            deletion_protection=runtime.deletion_protection,
            labels={"berth-stack": runtime.prefix, "berth-service": svc.name},
            template={
                "service_account": self.account.email,
                "execution_environment": "EXECUTION_ENVIRONMENT_GEN2",
                "max_instance_request_concurrency": args.concurrency,
                "timeout": f"{args.request_timeout_seconds}s",
                "scaling": {"min_instance_count": svc.scaling.min, "max_instance_count": svc.scaling.max},
                "vpc_access": vpc_access(runtime),
                "containers": [app],
                "volumes": volumes(runtime)[0],
            },
            traffics=[{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*grants, *args.depends_on]))
        self.register_outputs({"service": self.service.name, "uri": self.service.uri})
