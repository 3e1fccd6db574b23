"""Redis on ElastiCache in the private subnets: TLS and an auth token always; failover and
Multi-AZ where the tier asks for HA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_aws as aws

from components.common.secrets import password
from components.common.urls import redis_url
from infra.spec import Cache as CacheSpec

PORT = 6379


@dataclass
class CacheArgs:
    prefix: str
    spec: CacheSpec
    node_type: str
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    snapshot_days: int


class Cache(pulumi.ComponentResource):
    url: pulumi.Output[str]
    group: aws.elasticache.ReplicationGroup
    node_ids: list[pulumi.Output[str]]  # the member clusters: ElastiCache's per-node metrics name them

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:aws:Cache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        subnets = aws.elasticache.SubnetGroup("cache", name=args.prefix, subnet_ids=list(args.subnet_ids), opts=child)
        token = password("cache-auth-token", self, length=64)
        ha = args.spec.ha
        nodes = 2 if ha else 1
        self.group = aws.elasticache.ReplicationGroup(
            "redis",
            replication_group_id=args.prefix, description=f"Redis for {args.prefix}",
            engine="redis", engine_version=args.spec.engine_version, node_type=args.node_type, port=PORT,
            num_cache_clusters=nodes,
            automatic_failover_enabled=ha, multi_az_enabled=ha,
            subnet_group_name=subnets.name, security_group_ids=[args.security_group_id],
            transit_encryption_enabled=True, at_rest_encryption_enabled=True, auth_token=token,
            snapshot_retention_limit=args.snapshot_days,
            auto_minor_version_upgrade=True, apply_immediately=not ha,
            opts=child)
        # ElastiCache names a replication group's member clusters <group id>-001, -002, …
        self.node_ids = [self.group.replication_group_id.apply(lambda g, n=n: f"{g}-{n:03d}")
                         for n in range(1, nodes + 1)]
        self.url = redis_url(token, self.group.primary_endpoint_address, PORT, tls=True)
        self.register_outputs({"address": self.group.primary_endpoint_address})
