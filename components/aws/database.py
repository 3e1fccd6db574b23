"""Postgres on RDS in the private subnets: encrypted, TLS required, backed up; HA, protected and
watched more closely where the tier says so."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_aws as aws

from components.common.secrets import password
from components.common.urls import postgres_url
from infra.spec import Database as DatabaseSpec

USER = "app"
PORT = 5432


@dataclass
class DatabaseArgs:
    prefix: str
    spec: DatabaseSpec
    instance_class: str
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    log_retention_days: int
    allow_major_version_upgrade: bool
    auto_minor_version_upgrade: bool


class Database(pulumi.ComponentResource):
    url: pulumi.Output[str]
    instance: aws.rds.Instance

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:aws:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        db = args.spec
        major = db.engine_version.split(".")[0]
        subnets = aws.rds.SubnetGroup("database", name=args.prefix, subnet_ids=list(args.subnet_ids), opts=child)
        params = aws.rds.ParameterGroup(
            "database", name=f"{args.prefix}-postgres{major}", family=f"postgres{major}",
            parameters=[{"name": "rds.force_ssl", "value": "1"}],  # no plain-text connection is accepted
            opts=child)
        # Created before RDS does it with no expiry: the exported Postgres log keeps the tier's retention.
        logs = aws.cloudwatch.LogGroup("postgres-logs", name=f"/aws/rds/instance/{args.prefix}/postgresql",
                                       retention_in_days=args.log_retention_days, opts=child)
        secret = password("database-password", self)
        grows = db.max_storage_gb > db.storage_gb
        self.instance = aws.rds.Instance(
            "postgres",
            identifier=args.prefix,
            engine="postgres", engine_version=db.engine_version, instance_class=args.instance_class,
            db_name=db.name, username=USER, password=secret, port=PORT,
            allocated_storage=db.storage_gb, max_allocated_storage=db.max_storage_gb if grows else None,
            storage_type="gp3", storage_encrypted=True,
            db_subnet_group_name=subnets.name, vpc_security_group_ids=[args.security_group_id],
            publicly_accessible=False, parameter_group_name=params.name,
            multi_az=db.ha,
            backup_retention_period=db.backup_days, copy_tags_to_snapshot=True,
            deletion_protection=db.deletion_protection,
            skip_final_snapshot=not db.final_snapshot,
            final_snapshot_identifier=f"{args.prefix}-final" if db.final_snapshot else None,
            performance_insights_enabled=db.performance_insights,
            performance_insights_retention_period=7 if db.performance_insights else None,
            enabled_cloudwatch_logs_exports=["postgresql"],
            # Stated, not left to AWS: a major engine bump is refused unless the same reviewed change
            # sets aws.database_allow_major_version_upgrade; minor versions follow the tier.
            allow_major_version_upgrade=args.allow_major_version_upgrade,
            auto_minor_version_upgrade=args.auto_minor_version_upgrade,
            apply_immediately=not db.deletion_protection,  # protected databases change in their maintenance window
            # `protect` follows deletion protection: Pulumi refuses to delete what AWS would.
            opts=pulumi.ResourceOptions(parent=self, protect=db.deletion_protection, depends_on=[logs]))
        self.url = postgres_url(USER, secret, self.instance.address, self.instance.port, db.name, sslmode="require")
        self.register_outputs({"address": self.instance.address})
