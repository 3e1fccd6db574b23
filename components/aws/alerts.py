"""Alerting: one SNS topic (the stack's email on it), the alarms the old deployment guides asked for,
and a dashboard with the same signals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from infra.spec import Alerts as AlertsSpec

GIB = 1024 ** 3
MINUTE = 60


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
    web: list[WebTarget] = field(default_factory=list)
    database_id: Optional[pulumi.Input[str]] = None


class Alerts(pulumi.ComponentResource):
    topic: aws.sns.Topic
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    dashboard_url: pulumi.Output[str]

    def __init__(self, name: str, args: AlertsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:aws:Alerts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._args = args
        # Not encrypted with the AWS-managed SNS key: CloudWatch alarms cannot publish to such a topic.
        self.topic = aws.sns.Topic("alerts", name=f"{args.prefix}-alerts", opts=child)
        if args.spec.email:
            aws.sns.TopicSubscription("email", topic=self.topic.arn, protocol="email",
                                      endpoint=args.spec.email, opts=child)
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
            self._alarm("database-cpu", f"database: CPU above {a.cpu_percent}%", comparison="GreaterThanThreshold",
                        threshold=a.cpu_percent, periods=5, treat_missing="notBreaching", namespace="AWS/RDS",
                        metric_name="CPUUtilization", dimensions=dims, statistic="Average")

        dashboard = aws.cloudwatch.Dashboard("dashboard", dashboard_name=args.prefix,
                                             dashboard_body=pulumi.Output.json_dumps(self._dashboard()), opts=child)
        self.dashboard_url = pulumi.Output.format(
            "https://{0}.console.aws.amazon.com/cloudwatch/home?region={0}#dashboards:name={1}",
            args.region, dashboard.dashboard_name)
        self.register_outputs({"topic": self.topic.arn, "dashboard_url": self.dashboard_url})

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
