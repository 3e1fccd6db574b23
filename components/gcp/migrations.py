"""The release's migrations as a Cloud Run v2 job, executed on each release before any service's new
revision: the job's run-execution token is the release, so a new release starts a new execution,
and `pulumi up` waits until it has *completed*. The services depend on the job, so a failed
migration stops the release before any new revision takes traffic.

The command takes a Postgres advisory lock, so an execution that overlaps another is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_gcp as gcp

from components.gcp import names
from components.gcp.run import Runtime, container, identity, volumes, vpc_access

NAME = "migrate"
# A migration is one short-lived process: the smallest Cloud Run size that runs gen2.
CPU, MEMORY = 1, 512


@dataclass
class MigrationsArgs:
    runtime: Runtime
    command: Sequence[str]
    env: dict[str, pulumi.Input[str]]
    release: str  # the source hash or the digest's head: a new one runs the job again
    timeout_seconds: int
    retries: int


class Migrations(pulumi.ComponentResource):
    job: gcp.cloudrunv2.Job

    def __init__(self, name: str, args: MigrationsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:gcp:Migrations", name, None, opts)
        runtime = args.runtime
        account, grants = identity(self, NAME, runtime)
        job_name = names.fit(f"{runtime.prefix}-{NAME}", names.RUN_JOB_MAX)
        token = args.release[: names.EXECUTION_NAME_MAX - len(job_name) - 1]
        self.job = gcp.cloudrunv2.Job(
            f"{NAME}-job", name=job_name, location=runtime.region,
            deletion_protection=runtime.deletion_protection,
            labels={"berth-stack": runtime.prefix},
            run_execution_token=token,  # ready only once this release's execution has completed
            template={
                "task_count": 1, "parallelism": 1,
                "template": {
                    "service_account": account.email,
                    "execution_environment": "EXECUTION_ENVIRONMENT_GEN2",
                    "timeout": f"{args.timeout_seconds}s",
                    "max_retries": args.retries,
                    "vpc_access": vpc_access(runtime),
                    "containers": [container(NAME, runtime, args.env, CPU, MEMORY, args.command)],
                    "volumes": volumes(runtime)[0],
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants))
        self.register_outputs({"job": self.job.name})
