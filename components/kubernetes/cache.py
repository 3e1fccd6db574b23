"""Redis as a one-replica StatefulSet of the official image: AUTH with a generated password, its data
on a PersistentVolumeClaim, probes, the same hardened pod as the app, reachable only by the app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.common.secrets import password
from components.common.urls import redis_url
from components.kubernetes.names import REDIS, labels, object_name, selector
from components.kubernetes.network import app_pods, dns, from_pods
from components.kubernetes.pods import TMP_MOUNT, TMP_VOLUME, container_security, pod_security, resources

PORT = 6379
PASSWORD_KEY = "password"
AUTH_DIR = "/etc/redis-auth"
# The password is a file from the Secret (not env, not the pod spec); redis-server's process title
# replaces its command line, and redis-cli reads REDISCLI_AUTH rather than an argument.
SERVER = f'exec redis-server --port 6379 --dir /data --appendonly yes --requirepass "$(cat {AUTH_DIR}/{PASSWORD_KEY})"'
PING = f'REDISCLI_AUTH="$(cat {AUTH_DIR}/{PASSWORD_KEY})" redis-cli ping | grep -q PONG'


@dataclass
class CacheArgs:
    prefix: str
    namespace: pulumi.Input[str]
    image: str
    cpu: float
    memory: int
    storage_gb: int
    storage_class: Optional[str]
    dns_namespace: str


class Cache(pulumi.ComponentResource):
    url: pulumi.Output[str]  # a secret: REDIS_URL with the password
    statefulset: k8s.apps.v1.StatefulSet

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:kubernetes:Cache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        full = object_name(args.prefix, REDIS)
        meta = {"name": full, "namespace": args.namespace, "labels": labels(args.prefix, REDIS, "cache")}
        match = selector(args.prefix, REDIS)
        secret_value = password("cache-password", self)
        secret = k8s.core.v1.Secret(
            REDIS, metadata={"namespace": args.namespace, "labels": meta["labels"]}, type="Opaque",
            string_data={PASSWORD_KEY: secret_value}, opts=child)
        account = k8s.core.v1.ServiceAccount(REDIS, metadata=meta, automount_service_account_token=False, opts=child)
        service = k8s.core.v1.Service(
            REDIS, metadata=meta,
            spec={"type": "ClusterIP", "selector": match,
                  "ports": [{"name": "redis", "port": PORT, "targetPort": "redis", "protocol": "TCP"}]},
            opts=child)
        k8s.networking.v1.NetworkPolicy(
            REDIS, metadata=meta,
            spec={"podSelector": {"matchLabels": match}, "policyTypes": ["Ingress", "Egress"],
                  "ingress": [from_pods(app_pods(args.prefix), [PORT])], "egress": [dns(args.dns_namespace)]},
            opts=child)

        def probe(period: int, failures: int) -> dict:
            return {"exec": {"command": ["sh", "-c", PING]}, "periodSeconds": period, "timeoutSeconds": 3,
                    "failureThreshold": failures}

        storage = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{args.storage_gb}Gi"}}}
        if args.storage_class:
            storage["storageClassName"] = args.storage_class
        self.statefulset = k8s.apps.v1.StatefulSet(
            REDIS, metadata=meta,
            spec={
                "serviceName": service.metadata["name"], "replicas": 1, "selector": {"matchLabels": match},
                "template": {"metadata": {"labels": meta["labels"]}, "spec": {
                    "serviceAccountName": account.metadata["name"], "automountServiceAccountToken": False,
                    "enableServiceLinks": False, "securityContext": pod_security(),
                    "terminationGracePeriodSeconds": 30,
                    "containers": [{
                        "name": REDIS, "image": args.image, "imagePullPolicy": "Always",
                        "command": ["sh", "-c", SERVER],
                        "ports": [{"name": "redis", "containerPort": PORT, "protocol": "TCP"}],
                        "startupProbe": probe(2, 30), "livenessProbe": probe(10, 3), "readinessProbe": probe(5, 2),
                        "resources": resources(args.cpu, args.memory), "securityContext": container_security(),
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}, TMP_MOUNT,
                                         {"name": "auth", "mountPath": AUTH_DIR, "readOnly": True}],
                    }],
                    # Readable by the pod's group (fsGroup) only.
                    "volumes": [TMP_VOLUME, {"name": "auth", "secret": {
                        "secretName": secret.metadata["name"], "defaultMode": 0o440}}],
                }},
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": storage}],
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            },
            opts=child)
        host = pulumi.Output.format("{0}.{1}.svc", service.metadata["name"], args.namespace)
        self.url = redis_url(secret_value, host, PORT)
        self.register_outputs({"service": service.metadata["name"]})
