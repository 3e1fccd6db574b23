"""Postgres on Cloud SQL with a private IP only: TLS required, automated backups with point-in-time
recovery, query insights; REGIONAL (a standby in another zone), deletion protection (the API's and
the provider's), a final backup and Pulumi's `protect` where the tier says so."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.common.secrets import password
from components.common.urls import postgres_url
from infra.spec import Database as DatabaseSpec

USER = "app"
PORT = 5432


@dataclass
class DatabaseArgs:
    prefix: str
    spec: DatabaseSpec
    region: str
    tier: str
    edition: str
    network_id: pulumi.Input[str]
    peering: pulumi.Resource  # private services access: the private IP needs it first
    transaction_log_days: int
    final_backup_days: int


class Database(pulumi.ComponentResource):
    url: pulumi.Output[str]
    instance: gcp.sql.DatabaseInstance

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:gcp:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        db = args.spec
        protected = db.deletion_protection
        grows = db.max_storage_gb > db.storage_gb
        settings = {
            "tier": args.tier, "edition": args.edition,
            "availability_type": "REGIONAL" if db.ha else "ZONAL",
            "disk_type": "PD_SSD", "disk_size": db.storage_gb,
            "disk_autoresize": grows, "disk_autoresize_limit": db.max_storage_gb if grows else 0,
            "ip_configuration": {
                "ipv4_enabled": False,  # no public address at all
                "private_network": args.network_id,
                "ssl_mode": "ENCRYPTED_ONLY",  # TLS required; no client certificate needed
            },
            "backup_configuration": {
                "enabled": True, "point_in_time_recovery_enabled": True, "start_time": "03:00",
                "transaction_log_retention_days": args.transaction_log_days,
                "backup_retention_settings": {"retained_backups": db.backup_days, "retention_unit": "COUNT"},
            },
            "insights_config": {
                "query_insights_enabled": db.performance_insights, "record_application_tags": db.performance_insights,
                "record_client_address": False,  # client addresses are personal data
            },
            "maintenance_window": {"day": 7, "hour": 3, "update_track": "stable"},
            "deletion_protection_enabled": protected,  # the Cloud SQL API refuses the delete
            "user_labels": {"berth-stack": args.prefix},
        }
        if db.final_snapshot:
            settings["final_backup_config"] = {"enabled": True, "retention_days": args.final_backup_days}
        major = db.engine_version.split(".")[0]
        # Autonamed: Cloud SQL keeps a deleted instance's name for up to a week, so a replacement
        # under a fixed name would fail.
        self.instance = gcp.sql.DatabaseInstance(
            "postgres", database_version=f"POSTGRES_{major}", region=args.region, settings=settings,
            deletion_protection=protected,  # the provider refuses the delete too
            opts=pulumi.ResourceOptions(parent=self, protect=protected, depends_on=[args.peering]))
        database = gcp.sql.Database("app", name=db.name, instance=self.instance.name, opts=child)
        secret = password("database-password", self)
        user = gcp.sql.User("app", name=USER, instance=self.instance.name, password=secret, opts=child)
        self.url = postgres_url(
            USER, secret, self.instance.private_ip_address, PORT, db.name, sslmode="require")
        # The URL is used only once the database and its user exist.
        self.url = pulumi.Output.all(self.url, database.name, user.name).apply(lambda parts: parts[0])
        self.url = pulumi.Output.secret(self.url)
        self.register_outputs({"instance": self.instance.name})
