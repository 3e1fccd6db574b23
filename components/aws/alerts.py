"""Alerting: one SNS topic (the stack's email on it, encrypted with a customer-managed KMS key that
CloudWatch may use), the alarms the old deployment guides asked for, the data stores' own pressure
signals, and a dashboard with the same signals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from infra.spec import Alerts as AlertsSpec

GIB = 1024 ** 3
MIB = 1024 ** 2
MINUTE = 60
# What the account itself may do with the topic's key: administer it and use it (publishing a test
# message). Named one by one: each acts on a key, and a key policy grants nothing else.
KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey",
    "kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListKeyPolicies",
    "kms:ListKeyRotations", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
)
KEY_USE_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo")


def topic_key_policy(account: str, partition: str, region: str, alarm_prefix: str) -> pulumi.Output[str]:
    """The account administers and uses the key; CloudWatch may encrypt what its alarms (and only
    this stack's, in this account) publish to the topic. In a key policy "*" is this key."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdministersAndUses", "Effect": "Allow",
         "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
         "Action": [*KEY_ADMIN_ACTIONS, *KEY_USE_ACTIONS], "Resource": "*"},
        {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account},
                       "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{alarm_prefix}*"}}},
    ]})


@dataclass
class StoreThresholds:
    """The data stores' alarm thresholds the aws target adds (its tier's `aws:` section)."""

    database_connections: int
    database_freeable_memory_mb: int
    cache_evictions: int  # per 5 minutes
    cache_replication_lag_seconds: float


@dataclass
class WebTarget:
    name: str
    target_group_arn_suffix: pulumi.Input[str]


@dataclass
class AlertsArgs:
    prefix: str
    spec: AlertsSpec
    region: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    services: dict[str, pulumi.Input[str]]  # spec name → ECS service name
    min_tasks: dict[str, int]
    alb_arn_suffix: Optional[pulumi.Input[str]]
    key_deletion_days: int
    thresholds: StoreThresholds
    web: list[WebTarget] = field(default_factory=list)
    database_id: Optional[pulumi.Input[str]] = None
    cache_nodes: list[pulumi.Input[str]] = field(default_factory=list)  # member cluster ids
    cache_ha: bool = False


class Alerts(pulumi.ComponentResource):
    topic: aws.sns.Topic
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    dashboard_url: pulumi.Output[str]

    def __init__(self, name: str, args: AlertsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:aws:Alerts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._args = args
        # A customer-managed key: CloudWatch cannot publish to a topic under the AWS-managed SNS key.
        caller = aws.get_caller_identity_output()
        partition = aws.get_partition_output().partition
        self.key_policy = pulumi.Output.all(caller.account_id, partition, args.region).apply(
            lambda a: topic_key_policy(a[0], a[1], a[2], f"{args.prefix}-"))
        self.key = aws.kms.Key("alerts", description=f"Encrypts {args.prefix}'s alert topic",
                               enable_key_rotation=True, deletion_window_in_days=args.key_deletion_days,
                               policy=self.key_policy, opts=child)
        self.topic = aws.sns.Topic("alerts", name=f"{args.prefix}-alerts", kms_master_key_id=self.key.arn,
                                   opts=child)
        if args.spec.email:
            aws.sns.TopicSubscription("email", topic=self.topic.arn, protocol="email",
                                      endpoint=args.spec.email, opts=child)
        # Alarm names: a service's end in -cpu, -memory, -no-tasks, -p95-latency or -unhealthy; the
        # stack's own never do, so no service name can make the two collide.
        self.alarms = {}
        a = args.spec
        if args.alb_arn_suffix is not None:
            lb = {"LoadBalancer": args.alb_arn_suffix}
            self._alarm(
                "error-rate", f"5xx responses above {a.error_rate_percent:g}% of requests for {a.error_rate_minutes} min",
                comparison="GreaterThanThreshold", threshold=a.error_rate_percent,
                periods=a.error_rate_minutes, treat_missing="notBreaching",
                metric_queries=[
                    self._query("target5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", lb, "Sum"),
                    self._query("elb5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", lb, "Sum"),
                    self._query("requests", "AWS/ApplicationELB", "RequestCount", lb, "Sum"),
                    {"id": "rate", "label": "5xx rate (%)", "return_data": True,
                     "expression": "IF(requests > 0, 100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests, 0)"},
                ])
        for web in args.web:
            dims = {"LoadBalancer": args.alb_arn_suffix, "TargetGroup": web.target_group_arn_suffix}
            self._alarm(f"{web.name}-p95-latency", f"{web.name}: p95 response time above {a.p95_latency_seconds:g} s",
                        comparison="GreaterThanThreshold", threshold=a.p95_latency_seconds, periods=5,
                        treat_missing="notBreaching", namespace="AWS/ApplicationELB",
                        metric_name="TargetResponseTime", dimensions=dims, extended_statistic="p95")
            self._alarm(f"{web.name}-unhealthy", f"{web.name}: unhealthy targets for {a.health_failures} periods",
                        comparison="GreaterThanThreshold", threshold=0, periods=a.health_failures,
                        treat_missing="notBreaching", namespace="AWS/ApplicationELB",
                        metric_name="UnHealthyHostCount", dimensions=dims, statistic="Maximum")
        for svc, service_name in args.services.items():
            dims = {"ClusterName": args.cluster_name, "ServiceName": service_name}
            if args.min_tasks[svc] > 0:
                # No data means no tasks report: that is the outage this alarm is for.
                self._alarm(f"{svc}-no-tasks", f"{svc}: no running task", comparison="LessThanThreshold",
                            threshold=1, periods=2, treat_missing="breaching", namespace="ECS/ContainerInsights",
                            metric_name="RunningTaskCount", dimensions=dims, statistic="Minimum")
            self._alarm(f"{svc}-cpu", f"{svc}: CPU above {a.cpu_percent}%", comparison="GreaterThanThreshold",
                        threshold=a.cpu_percent, periods=5, treat_missing="notBreaching", namespace="AWS/ECS",
                        metric_name="CPUUtilization", dimensions=dims, statistic="Average")
            self._alarm(f"{svc}-memory", f"{svc}: memory above {a.memory_percent}%", comparison="GreaterThanThreshold",
                        threshold=a.memory_percent, periods=5, treat_missing="notBreaching", namespace="AWS/ECS",
                        metric_name="MemoryUtilization", dimensions=dims, statistic="Average")
        if args.database_id is not None:
            dims = {"DBInstanceIdentifier": args.database_id}
            self._alarm("database-free-storage", f"database: free storage under {a.db_free_storage_gb:g} GB",
                        comparison="LessThanThreshold", threshold=a.db_free_storage_gb * GIB, periods=1,
                        treat_missing="breaching", namespace="AWS/RDS", metric_name="FreeStorageSpace",
                        dimensions=dims, statistic="Minimum", period=5 * MINUTE)
            self._alarm("database-cpu-utilization", f"database: CPU above {a.cpu_percent}%", comparison="GreaterThanThreshold",
                        threshold=a.cpu_percent, periods=5, treat_missing="notBreaching", namespace="AWS/RDS",
                        metric_name="CPUUtilization", dimensions=dims, statistic="Average")
            t = args.thresholds
            self._alarm("database-freeable-memory-low", f"database: freeable memory under {t.database_freeable_memory_mb} MiB",
                        comparison="LessThanThreshold", threshold=t.database_freeable_memory_mb * MIB, periods=5,
                        treat_missing="notBreaching", namespace="AWS/RDS", metric_name="FreeableMemory",
                        dimensions=dims, statistic="Minimum")
            self._alarm("database-connections", f"database: more than {t.database_connections} connections",
                        comparison="GreaterThanThreshold", threshold=t.database_connections, periods=5,
                        treat_missing="notBreaching", namespace="AWS/RDS", metric_name="DatabaseConnections",
                        dimensions=dims, statistic="Maximum")
        self._cache_alarms(args)

        dashboard = aws.cloudwatch.Dashboard("dashboard", dashboard_name=args.prefix,
                                             dashboard_body=pulumi.Output.json_dumps(self._dashboard()), opts=child)
        self.dashboard_url = pulumi.Output.format(
            "https://{0}.console.aws.amazon.com/cloudwatch/home?region={0}#dashboards:name={1}",
            args.region, dashboard.dashboard_name)
        self.register_outputs({"topic": self.topic.arn, "dashboard_url": self.dashboard_url})

    def _cache_alarms(self, args: AlertsArgs) -> None:
        """Per node (ElastiCache reports per member cluster): Redis's own CPU, memory, evictions, and
        with a replica the lag behind the primary (a replica's metric; the primary reports none)."""
        a, t = args.spec, args.thresholds
        for n, node in enumerate(args.cache_nodes, start=1):
            dims = {"CacheClusterId": node}
            name = f"cache-{n}"
            self._alarm(f"{name}-engine-cpu-utilization", f"cache node {n}: Redis CPU above {a.cpu_percent}%",
                        comparison="GreaterThanThreshold", threshold=a.cpu_percent, periods=5,
                        treat_missing="notBreaching", namespace="AWS/ElastiCache",
                        metric_name="EngineCPUUtilization", dimensions=dims, statistic="Average")
            self._alarm(f"{name}-memory-usage", f"cache node {n}: memory above {a.memory_percent}%",
                        comparison="GreaterThanThreshold", threshold=a.memory_percent, periods=5,
                        treat_missing="notBreaching", namespace="AWS/ElastiCache",
                        metric_name="DatabaseMemoryUsagePercentage", dimensions=dims, statistic="Average")
            self._alarm(f"{name}-evictions", f"cache node {n}: more than {t.cache_evictions} evictions in 5 min",
                        comparison="GreaterThanThreshold", threshold=t.cache_evictions, periods=1,
                        treat_missing="notBreaching", namespace="AWS/ElastiCache", metric_name="Evictions",
                        dimensions=dims, statistic="Sum", period=5 * MINUTE)
            if args.cache_ha:
                self._alarm(f"{name}-replication-lag",
                            f"cache node {n}: replica more than {t.cache_replication_lag_seconds:g} s behind",
                            comparison="GreaterThanThreshold", threshold=t.cache_replication_lag_seconds, periods=5,
                            treat_missing="notBreaching", namespace="AWS/ElastiCache",
                            metric_name="ReplicationLag", dimensions=dims, statistic="Maximum")

    @staticmethod
    def _query(id_: str, namespace: str, metric: str, dimensions: dict, stat: str) -> dict[str, Any]:
        return {"id": id_, "return_data": False, "metric": {
            "namespace": namespace, "metric_name": metric, "dimensions": dimensions, "stat": stat,
            "period": MINUTE}}

    def _alarm(self, name: str, description: str, *, comparison: str, threshold: float, periods: int,
               treat_missing: str, period: int = MINUTE, **metric: Any) -> None:
        topic = [self.topic.arn]
        if "metric_queries" not in metric:
            metric["period"] = period
        self.alarms[name] = aws.cloudwatch.MetricAlarm(
            name, name=f"{self._args.prefix}-{name}", alarm_description=description,
            comparison_operator=comparison, threshold=threshold,
            evaluation_periods=periods, datapoints_to_alarm=periods, treat_missing_data=treat_missing,
            alarm_actions=topic, ok_actions=topic, **metric,
            opts=pulumi.ResourceOptions(parent=self))

    def _dashboard(self) -> dict[str, Any]:
        args = self._args
        widgets: list[dict[str, Any]] = []

        def widget(title: str, metrics: list, stat: str = "Sum") -> None:
            widgets.append({"type": "metric", "width": 12, "height": 6, "properties": {
                "title": title, "region": args.region, "stat": stat, "period": MINUTE, "view": "timeSeries",
                "metrics": metrics}})

        if args.alb_arn_suffix is not None:
            lb = ["LoadBalancer", args.alb_arn_suffix]
            widget("Requests", [["AWS/ApplicationELB", "RequestCount", *lb]])
            widget("Errors (5xx)", [["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *lb],
                                    ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", *lb]])
            widget("Response time", [["AWS/ApplicationELB", "TargetResponseTime", *lb, {"stat": p, "label": p}]
                                     for p in ("p50", "p95", "p99")], stat="p95")
        for svc, service_name in args.services.items():
            dims = ["ClusterName", args.cluster_name, "ServiceName", service_name]
            widget(f"{svc}: CPU and memory (%)", [["AWS/ECS", "CPUUtilization", *dims],
                                                  ["AWS/ECS", "MemoryUtilization", *dims]], stat="Average")
        if args.database_id is not None:
            widget("Database connections", [["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier",
                                             args.database_id]], stat="Average")
        return {"widgets": widgets}
