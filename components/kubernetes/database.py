"""Postgres by CloudNativePG: a `Cluster` (one instance in dev, three in prod), a `ScheduledBackup`
to an object store where the tier schedules one, and the NetworkPolicy its pods need.

The operator creates the `<cluster>-app` Secret (user `app`, a generated password); the app reads
`DATABASE_URL` from its `uri` key, so the password never passes through Pulumi.

TLS only: `pg_hba` rejects every connection without it. The operator's `uri` carries no query, and
adding `?sslmode=…` would take the password through Pulumi, so the clients get libpq's own
defaults instead (`PGSSLMODE=verify-full`, `PGSSLROOTCERT`: the operator's CA, `<cluster>-ca`,
key `ca.crt`, mounted as a file), which psycopg reads for every connection the URL opens. The
operator's server certificate names `<cluster>-rw.<namespace>`, the host in `uri`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.names import POSTGRES, labels, object_name
from components.kubernetes.network import app_pods, dns, from_namespace, from_pods
from components.kubernetes.pods import SecretFile, SecretRef, resources
from infra.spec import Database as DatabaseSpec

PORT = 5432
STATUS_PORT = 8000  # the instance manager's status endpoint, which the operator polls
METRICS_PORT = 9187
CLUSTER_LABEL = "cnpg.io/cluster"  # on every pod of a Cluster
OWNER = "app"
TLS_ONLY = "hostnossl all all all reject"  # CloudNativePG puts it before its own `host all all all` rule
CA_DIR = "/etc/berth/postgres-ca"


@dataclass
class DatabaseArgs:
    prefix: str
    namespace: pulumi.Input[str]
    spec: DatabaseSpec
    instances: int
    image: str  # for database.engine_version, pinned by digest (the tiers' postgres_images)
    cpu: float
    memory: int
    storage_class: Optional[str]
    hard_anti_affinity: bool
    operator_namespace: str
    monitoring_namespace: str
    dns_namespace: str
    backup_schedule: Optional[str]
    backup_destination: Optional[str]
    backup_endpoint_url: Optional[str]
    backup_credentials_secret: Optional[str]


class Database(pulumi.ComponentResource):
    cluster: k8s.apiextensions.CustomResource
    url: SecretRef
    ca: SecretFile  # the operator's CA certificate, for the clients to verify the server with
    client_env: dict[str, str]  # what makes every client connection verified TLS
    name: str  # the Cluster's name

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:kubernetes:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        db = args.spec
        self.name = object_name(args.prefix, POSTGRES)
        meta = {"name": self.name, "namespace": args.namespace, "labels": labels(args.prefix, POSTGRES, "database")}
        pods = {CLUSTER_LABEL: self.name}
        # Default deny covers these pods too: they take the app's connections, each other's
        # replication, the operator's status calls and Prometheus's scrapes; they call the
        # Kubernetes API (443/6443) and the object store.
        policy = k8s.networking.v1.NetworkPolicy(
            POSTGRES, metadata=meta,
            spec={"podSelector": {"matchLabels": pods}, "policyTypes": ["Ingress", "Egress"],
                  "ingress": [from_pods(app_pods(args.prefix), [PORT]),
                              from_pods({"matchLabels": pods}, [PORT, STATUS_PORT]),
                              from_namespace(args.operator_namespace, STATUS_PORT),
                              from_namespace(args.monitoring_namespace, METRICS_PORT)],
                  "egress": [dns(args.dns_namespace),
                             {"to": [{"podSelector": {"matchLabels": pods}}],
                              "ports": [{"protocol": "TCP", "port": PORT}, {"protocol": "TCP", "port": STATUS_PORT}]},
                             {"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]}]},
            opts=child)

        storage: dict[str, Any] = {"size": f"{db.storage_gb}Gi"}
        if args.storage_class:
            storage["storageClass"] = args.storage_class
        spec: dict[str, Any] = {
            "instances": args.instances,
            "imageName": args.image,
            "primaryUpdateStrategy": "unsupervised",
            "enableSuperuserAccess": False,
            "bootstrap": {"initdb": {"database": db.name, "owner": OWNER}},
            "postgresql": {"pg_hba": [TLS_ONLY]},
            "storage": storage,
            "resources": resources(args.cpu, args.memory),
            "affinity": {"enablePodAntiAffinity": True, "topologyKey": "kubernetes.io/hostname",
                         "podAntiAffinityType": "required" if args.hard_anti_affinity else "preferred"},
            "monitoring": {"enablePodMonitor": True},
        }
        if args.backup_destination:
            credentials: dict[str, Any] = {"inheritFromIAMRole": True}
            if args.backup_credentials_secret:
                credentials = {key: {"name": args.backup_credentials_secret, "key": value} for key, value in
                               (("accessKeyId", "ACCESS_KEY_ID"), ("secretAccessKey", "ACCESS_SECRET_KEY"))}
            store: dict[str, Any] = {"destinationPath": args.backup_destination, "s3Credentials": credentials,
                                     "wal": {"compression": "gzip"}, "data": {"compression": "gzip"}}
            if args.backup_endpoint_url:
                store["endpointURL"] = args.backup_endpoint_url
            # WAL archiving plus base backups: point-in-time recovery within the retention.
            spec["backup"] = {"barmanObjectStore": store, "retentionPolicy": f"{db.backup_days}d"}
        self.cluster = k8s.apiextensions.CustomResource(
            POSTGRES, api_version="postgresql.cnpg.io/v1", kind="Cluster",
            # Pulumi waits until the operator reports the cluster ready: migrations need it.
            metadata={**meta, "annotations": {"pulumi.com/waitFor": "condition=Ready"}},
            spec=spec,
            # `protect` follows deletion protection: Pulumi refuses to delete the database.
            opts=pulumi.ResourceOptions(parent=self, protect=db.deletion_protection, depends_on=[policy]))
        if args.backup_schedule and args.backup_destination:
            k8s.apiextensions.CustomResource(
                f"{POSTGRES}-backup", api_version="postgresql.cnpg.io/v1", kind="ScheduledBackup",
                metadata={**meta, "name": object_name(args.prefix, "postgres-backup")},
                spec={"schedule": args.backup_schedule, "cluster": {"name": self.name},
                      "method": "barmanObjectStore", "backupOwnerReference": "self", "immediate": True},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster]))
        self.url = SecretRef(f"{self.name}-app", "uri")
        self.ca = SecretFile("postgres-ca", f"{self.name}-ca", "ca.crt", CA_DIR)
        self.client_env = {"PGSSLMODE": "verify-full", "PGSSLROOTCERT": self.ca.path}
        self.register_outputs({"cluster": self.name})
