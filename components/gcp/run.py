"""What every Cloud Run workload of a stack shares: its identity and grants, its container's env and
secret references, the Redis CA mount, and the Direct VPC egress into the stack's network.

Each workload (service, worker pool, migration job) gets its own service account, which may read
exactly the stack's secrets (one member binding per secret) and connect to Cloud SQL (one member
binding on the project); none is an authoritative policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.gcp import names
from components.gcp.cache import CA_DIR, CA_FILE
from components.gcp.secrets import SecretRef

CA_VOLUME = "redis-ca"
READ_ONLY = 0o444
VPC_EGRESS = {"private-ranges-only": "PRIVATE_RANGES_ONLY", "all-traffic": "ALL_TRAFFIC"}


@dataclass
class Runtime:
    """The stack-level facts every workload needs."""

    prefix: str
    project: str
    region: str
    image: pulumi.Input[str]
    env: dict[str, str]  # plain env every workload gets
    secrets: dict[str, SecretRef]  # env name → secret, each pinned to its version
    redis_ca: Optional[SecretRef]  # mounted as a file where REDIS_URL names it
    network: pulumi.Input[str]
    subnetwork: pulumi.Input[str]
    vpc_egress: str
    deletion_protection: bool
    database: bool  # grant Cloud SQL client


def identity(parent: pulumi.Resource, owner: str, runtime: Runtime) -> tuple[gcp.serviceaccount.Account, list[pulumi.Resource]]:
    """A service account for `owner` and its member-level grants, every child named after `owner`."""
    child = pulumi.ResourceOptions(parent=parent)
    account = gcp.serviceaccount.Account(
        f"{owner}-identity", account_id=names.account_id(runtime.prefix, owner),
        display_name=f"berth {runtime.prefix} {owner}", description=f"Runs {owner} of {runtime.prefix}", opts=child)
    member = pulumi.Output.concat("serviceAccount:", account.email)
    grants: list[pulumi.Resource] = []
    readable = dict(runtime.secrets)
    if runtime.redis_ca is not None:
        readable["REDIS_CA"] = runtime.redis_ca
    for key, ref in sorted(readable.items()):
        grants.append(gcp.secretmanager.SecretIamMember(
            f"{owner}-reads-{key.lower().replace('_', '-')}", secret_id=ref.secret.id,
            role="roles/secretmanager.secretAccessor", member=member, opts=child))
    if runtime.database:
        grants.append(gcp.projects.IAMMember(f"{owner}-cloudsql-client", project=runtime.project,
                                             role="roles/cloudsql.client", member=member, opts=child))
    return account, grants


def envs(env: dict[str, pulumi.Input[str]], secrets: dict[str, SecretRef]) -> list[dict[str, Any]]:
    """Plain values first, then secrets by reference to a pinned version: never a value in env."""
    out: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(env.items())]
    out += [{"name": k, "value_source": {"secret_key_ref": {"secret": ref.secret_id, "version": ref.version}}}
            for k, ref in sorted(secrets.items())]
    return out


def volumes(runtime: Runtime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Redis CA as a read-only file (volumes, volume mounts), when there is a cache."""
    if runtime.redis_ca is None:
        return [], []
    ca = runtime.redis_ca
    return ([{"name": CA_VOLUME, "secret": {"secret": ca.secret_id, "default_mode": READ_ONLY,
                                            "items": [{"path": CA_FILE, "version": ca.version, "mode": READ_ONLY}]}}],
            [{"name": CA_VOLUME, "mount_path": CA_DIR}])


def vpc_access(runtime: Runtime) -> dict[str, Any]:
    return {"network_interfaces": [{"network": runtime.network, "subnetwork": runtime.subnetwork}],
            "egress": VPC_EGRESS[runtime.vpc_egress]}


def limits(cpu: float, memory: int) -> dict[str, str]:
    return {"cpu": f"{cpu:g}", "memory": f"{memory}Mi"}


def container(name: str, runtime: Runtime, env: dict[str, pulumi.Input[str]], cpu: float, memory: int,
              args: Optional[Sequence[str]], **extra: Any) -> dict[str, Any]:
    """One workload's container: the stack's image, env and secret references, the CA mount."""
    out = {"name": name, "image": runtime.image, "resources": {"limits": limits(cpu, memory)},
           "envs": envs(env, runtime.secrets), "volume_mounts": volumes(runtime)[1], **extra}
    if args:
        out["args"] = list(args)  # like CMD: the image has no ENTRYPOINT
    return out
