"""Redis as a one-replica StatefulSet of the official image: TLS only, AUTH with a generated password,
its data on a PersistentVolumeClaim, probes, the same hardened pod as the app, reachable only by the app.

TLS: a certificate from the stack's internal CA (components/kubernetes/tls.py) for the Service's
names; Redis listens on 6379 with TLS and on no plain port. The app connects with `rediss://` and
verifies the server with the CA certificate, mounted as a file that REDIS_URL names (`ssl_ca_certs`,
which redis-py's `from_url` passes to its TLS connection). Redis reads its certificate at start:
the liveness probe fails once cert-manager has renewed the file, and the restart loads the new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.common.secrets import password
from components.common.urls import redis_url
from components.kubernetes.names import REDIS, labels, object_name, selector
from components.kubernetes.network import app_pods, dns, from_pods
from components.kubernetes.pods import (TMP_MOUNT, TMP_VOLUME, SecretFile, container_security, pod_security,
                                        resources)
from components.kubernetes.tls import InternalCA, server_certificate

PORT = 6379
PASSWORD_KEY = "password"
AUTH_DIR = "/etc/redis-auth"
TLS_DIR = "/etc/redis-tls"  # the certificate's Secret: tls.crt, tls.key, ca.crt
CA_DIR = "/etc/berth/redis-ca"  # where the app's pods mount the CA certificate
LOADED = "/tmp/tls.crt.sha256"  # the certificate Redis started with
# The password is a file from the Secret (not env, not the pod spec); redis-server's process title
# replaces its command line, and redis-cli reads REDISCLI_AUTH rather than an argument.
SERVER = (f"sha256sum {TLS_DIR}/tls.crt > {LOADED} && exec redis-server --port 0 --tls-port {PORT} "
          f"--tls-cert-file {TLS_DIR}/tls.crt --tls-key-file {TLS_DIR}/tls.key --tls-ca-cert-file {TLS_DIR}/ca.crt "
          "--tls-auth-clients no "  # clients prove themselves with the password, not a certificate
          f'--dir /data --appendonly yes --requirepass "$(cat {AUTH_DIR}/{PASSWORD_KEY})"')
# Over TLS, the chain verified against the CA (redis-cli checks no host name, so 127.0.0.1 will do).
PING = (f'REDISCLI_AUTH="$(cat {AUTH_DIR}/{PASSWORD_KEY})" redis-cli --tls --cacert {TLS_DIR}/ca.crt ping '
        "| grep -q PONG")
ALIVE = f"sha256sum -c {LOADED} >/dev/null 2>&1 && {PING}"  # and still serving the certificate on disk


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
    ca: InternalCA


class Cache(pulumi.ComponentResource):
    url: pulumi.Output[str]  # a secret: REDIS_URL with the password and the CA file
    ca: SecretFile  # the CA certificate the app verifies Redis with
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

        host = pulumi.Output.format("{0}.{1}.svc", service.metadata["name"], args.namespace)
        tls_secret = object_name(args.prefix, "redis-tls")
        certificate = server_certificate(
            REDIS, prefix=args.prefix, namespace=args.namespace, secret_name=tls_secret, ca=args.ca,
            dns_names=[full, pulumi.Output.format("{0}.{1}", full, args.namespace), host], component="cache",
            opts=child)
        self.ca = SecretFile("redis-ca", tls_secret, "ca.crt", CA_DIR)

        def probe(check: str, period: int, failures: int) -> dict:
            return {"exec": {"command": ["sh", "-c", check]}, "periodSeconds": period, "timeoutSeconds": 3,
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
                        "startupProbe": probe(PING, 2, 30), "livenessProbe": probe(ALIVE, 10, 3),
                        "readinessProbe": probe(PING, 5, 2),
                        "resources": resources(args.cpu, args.memory), "securityContext": container_security(),
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}, TMP_MOUNT,
                                         {"name": "auth", "mountPath": AUTH_DIR, "readOnly": True},
                                         {"name": "tls", "mountPath": TLS_DIR, "readOnly": True}],
                    }],
                    # Readable by the pod's group (fsGroup) only.
                    "volumes": [TMP_VOLUME,
                                {"name": "auth", "secret": {"secretName": secret.metadata["name"],
                                                            "defaultMode": 0o440}},
                                {"name": "tls", "secret": {"secretName": tls_secret, "defaultMode": 0o440}}],
                }},
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": storage}],
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            },
            # Its pods start once the certificate's Secret exists.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[certificate]))
        self.url = redis_url(secret_value, host, PORT, ca_file=self.ca.path)
        self.register_outputs({"service": service.metadata["name"]})
