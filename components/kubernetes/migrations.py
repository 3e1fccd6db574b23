"""Migrations as a Job named after the release: a hash of the image (by digest) and the command.

A new release is a new Job, which Pulumi creates and waits for; every Deployment depends on it, so a
failed migration fails `pulumi up` before any Deployment changes, and the old version keeps serving.
The same release planned again is the same Job: nothing re-runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.names import MIGRATE, labels, object_name, selector
from components.kubernetes.network import Peer, egress_rules
from components.kubernetes.pods import (SecretFile, SecretRef, container_security, env, mounts, pod_security,
                                        resources, volumes)

RELEASE_HASH_LEN = 10  # `<prefix>-migrate-<hash>` ≤ 27 + 9 + 10 = 46 characters
COMPONENT = "migrations"


def release(image: str, command: Sequence[str]) -> str:
    return hashlib.sha256("\0".join([image, *command]).encode()).hexdigest()[:RELEASE_HASH_LEN]


@dataclass
class MigrationsArgs:
    prefix: str
    namespace: pulumi.Input[str]
    image: pulumi.Input[str]
    command: Sequence[str]
    env: dict[str, str]
    secrets: dict[str, SecretRef]
    cpu: float
    memory: int
    image_pull_secrets: Sequence[str]
    backoff_limit: int
    timeout_seconds: int
    dns_namespace: str
    peers: list[Peer]
    https_cidrs: tuple[str, ...]
    files: Sequence[SecretFile] = ()  # the CA certificates of the database and cache
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


class Migrations(pulumi.ComponentResource):
    job: k8s.batch.v1.Job

    def __init__(self, name: str, args: MigrationsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:kubernetes:Migrations", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        base = object_name(args.prefix, MIGRATE)
        pod_labels = labels(args.prefix, MIGRATE, COMPONENT)
        meta = {"name": base, "namespace": args.namespace, "labels": pod_labels}
        account = k8s.core.v1.ServiceAccount(
            MIGRATE, metadata=meta, automount_service_account_token=False,
            image_pull_secrets=[{"name": s} for s in args.image_pull_secrets] or None, opts=child)
        k8s.networking.v1.NetworkPolicy(
            MIGRATE, metadata=meta,
            spec={"podSelector": {"matchLabels": selector(args.prefix, MIGRATE)}, "policyTypes": ["Ingress", "Egress"],
                  "ingress": [], "egress": egress_rules(args.dns_namespace, args.peers, args.https_cidrs)},
            opts=child)
        job_name = pulumi.Output.from_input(args.image).apply(
            lambda image: f"{base}-{release(image, args.command)}")
        self.job = k8s.batch.v1.Job(
            MIGRATE,
            metadata={**meta, "name": job_name},
            spec={
                "backoffLimit": args.backoff_limit, "activeDeadlineSeconds": args.timeout_seconds,
                "template": {"metadata": {"labels": pod_labels}, "spec": {
                    "restartPolicy": "Never", "serviceAccountName": account.metadata["name"],
                    "automountServiceAccountToken": False, "enableServiceLinks": False,
                    "securityContext": pod_security(), "volumes": volumes(args.files),
                    "containers": [{
                        "name": MIGRATE, "image": args.image, "imagePullPolicy": "Always",
                        "command": list(args.command), "env": env(args.env, args.secrets),
                        "resources": resources(args.cpu, args.memory), "securityContext": container_security(),
                        "volumeMounts": mounts(args.files),
                    }],
                }},
            },
            # A Job's template is immutable: a new release replaces it, the new one first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)))
        self.register_outputs({"job": self.job.metadata["name"]})
