"""Redis on Memorystore through private services access: AUTH and TLS in transit always; STANDARD_HA
(a replica in another zone with automatic failover) where the tier asks for HA, BASIC otherwise.

Memorystore signs its TLS certificate with its own CA, so the CA travels with the URL: the services
mount it from Secret Manager as a file, and REDIS_URL names that file (`ssl_ca_certs`), which
redis-py's `from_url` passes to its TLS connection.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.gcp import names
from infra.spec import Cache as CacheSpec

CA_DIR = "/etc/berth/redis-ca"  # where each service mounts the REDIS_CA secret
CA_FILE = "ca.pem"


@dataclass
class CacheArgs:
    prefix: str
    spec: CacheSpec
    region: str
    redis_version: str
    memory_gb: int
    network_id: pulumi.Input[str]
    peering: pulumi.Resource


class Cache(pulumi.ComponentResource):
    url: pulumi.Output[str]
    ca: pulumi.Output[str]
    instance: gcp.redis.Instance

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:gcp:Cache", name, None, opts)
        ha = args.spec.ha
        self.instance = gcp.redis.Instance(
            "redis", name=names.fit(f"{args.prefix}-redis", names.REDIS_MAX), region=args.region,
            tier="STANDARD_HA" if ha else "BASIC", memory_size_gb=args.memory_gb,
            replica_count=1 if ha else None, read_replicas_mode="READ_REPLICAS_ENABLED" if ha else None,
            redis_version=args.redis_version, authorized_network=args.network_id,
            connect_mode="PRIVATE_SERVICE_ACCESS", auth_enabled=True,
            transit_encryption_mode="SERVER_AUTHENTICATION",
            maintenance_policy={"weekly_maintenance_windows": [{"day": "SUNDAY", "start_time": {"hours": 3}}]},
            labels={"berth-stack": args.prefix},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.peering]))
        self.url = pulumi.Output.secret(pulumi.Output.format(
            "rediss://:{0}@{1}:{2}/0?ssl_ca_certs={3}/{4}", self.instance.auth_string, self.instance.host,
            self.instance.port, CA_DIR, CA_FILE))
        self.ca = pulumi.Output.secret(self.instance.server_ca_certs.apply(lambda certs: certs[0]["cert"]))
        self.register_outputs({"host": self.instance.host})
