"""Alerting on Cloud Monitoring: an email notification channel (when the stack names an address),
the alerts the old deployment guides asked for, with the spec's thresholds, an uptime check on each
web service's readiness path, and a dashboard with the same signals.

Per web service: 5xx share of the load balancer's responses, p95 request latency, the uptime check
failing `alerts.health_failures` times in a row, CPU and memory. Per worker: CPU and memory. The
database: free disk, CPU, memory. The cache: memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_gcp as gcp

from infra.spec import Alerts as AlertsSpec

GIB = 1024 ** 3
MINUTE = 60
HOT_MINUTES = 5  # CPU, memory and latency must stay high this long: a spike is not an incident


@dataclass
class WebTarget:
    name: str
    run_service: pulumi.Input[str]  # the Cloud Run service's name
    backend: pulumi.Input[str]  # the load balancer's backend service name (its 5xx and requests)
    path: str  # the readiness path as seen through the load balancer
    timeout_seconds: int


@dataclass
class AlertsArgs:
    prefix: str
    project: str
    spec: AlertsSpec
    host: Optional[pulumi.Input[str]]  # the load balancer's domain or address
    tls: bool
    uptime_period_seconds: int
    web: list[WebTarget] = field(default_factory=list)
    workers: dict[str, pulumi.Input[str]] = field(default_factory=dict)  # spec name → worker pool name
    database_instance: Optional[pulumi.Input[str]] = None
    redis_instance: Optional[pulumi.Input[str]] = None  # projects/…/locations/…/instances/…


def seconds(n: int) -> str:
    return f"{n}s"


def threshold(filter_: pulumi.Input[str], comparison: str, value: float, duration: int, *, aligner: str,
              reducer: str = "REDUCE_NONE", period: int = MINUTE,
              denominator: Optional[pulumi.Input[str]] = None) -> dict[str, Any]:
    aggregation = {"alignment_period": seconds(period), "per_series_aligner": aligner, "cross_series_reducer": reducer}
    if reducer != "REDUCE_NONE":
        aggregation["group_by_fields"] = ["resource.label.project_id"]
    condition = {"filter": filter_, "comparison": comparison, "threshold_value": value,
                 "duration": seconds(duration), "aggregations": [aggregation], "trigger": {"count": 1}}
    if denominator is not None:
        condition["denominator_filter"] = denominator
        condition["denominator_aggregations"] = [dict(aggregation)]
    return {"condition_threshold": condition}


def metric(type_: str, resource: str, **labels: pulumi.Input[str]) -> pulumi.Output[str]:
    parts = [f'metric.type="{type_}"', f'resource.type="{resource}"']
    template = " AND ".join(parts + [f'{k}="{{{i}}}"' for i, k in enumerate(labels)])
    return pulumi.Output.format(template, *labels.values())


class Alerts(pulumi.ComponentResource):
    channel: Optional[gcp.monitoring.NotificationChannel]
    policies: dict[str, gcp.monitoring.AlertPolicy]
    uptime_checks: dict[str, gcp.monitoring.UptimeCheckConfig]
    dashboard_url: pulumi.Output[str]

    def __init__(self, name: str, args: AlertsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:gcp:Alerts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._args = args
        self.channel = None
        if args.spec.email:
            self.channel = gcp.monitoring.NotificationChannel(
                "email", display_name=f"berth {args.prefix} on-call", type="email",
                labels={"email_address": args.spec.email}, opts=child)
        self.policies, self.uptime_checks = {}, {}
        a = args.spec
        hot = HOT_MINUTES * MINUTE
        for web in args.web:
            lb = {"resource.label.backend_target_name": web.backend}
            requests = metric("loadbalancing.googleapis.com/https/request_count", "https_lb_rule", **lb)
            self._policy(f"{web.name}-error-rate",
                         f"{web.name}: 5xx above {a.error_rate_percent:g}% of requests for {a.error_rate_minutes} min",
                         threshold(pulumi.Output.concat(requests, " AND metric.label.response_code_class=500"),
                                   "COMPARISON_GT", a.error_rate_percent / 100, a.error_rate_minutes * MINUTE,
                                   aligner="ALIGN_DELTA", reducer="REDUCE_SUM", denominator=requests))
            run = metric("run.googleapis.com/request_latencies", "cloud_run_revision",
                         **{"resource.label.service_name": web.run_service})
            self._policy(f"{web.name}-p95-latency", f"{web.name}: p95 latency above {a.p95_latency_seconds:g} s",
                         threshold(run, "COMPARISON_GT", a.p95_latency_seconds * 1000, hot,
                                   aligner="ALIGN_DELTA", reducer="REDUCE_PERCENTILE_95"))
            self._uptime(web)
            self._usage(web.name, "cloud_run_revision", {"resource.label.service_name": web.run_service})
        for worker, pool in args.workers.items():
            self._usage(worker, "cloud_run_worker_pool", {"resource.label.worker_pool_name": pool})
        if args.database_instance is not None:
            db_id = pulumi.Output.concat(args.project, ":", args.database_instance)
            sql = {"resource.label.database_id": db_id}
            free = pulumi.Output.format(
                'cloudsql_googleapis_com:database_disk_quota{{monitored_resource="cloudsql_database",database_id="{0}"}}'
                ' - cloudsql_googleapis_com:database_disk_bytes_used{{monitored_resource="cloudsql_database",'
                'database_id="{0}"}} < {1}', db_id, int(a.db_free_storage_gb * GIB))
            self._policy("database-free-storage", f"database: free disk under {a.db_free_storage_gb:g} GB",
                         {"condition_prometheus_query_language": {
                             "query": free, "duration": seconds(hot), "evaluation_interval": seconds(MINUTE)}})
            self._policy("database-cpu", f"database: CPU above {a.cpu_percent}%", threshold(
                metric("cloudsql.googleapis.com/database/cpu/utilization", "cloudsql_database", **sql),
                "COMPARISON_GT", a.cpu_percent / 100, hot, aligner="ALIGN_MEAN"))
            self._policy("database-memory", f"database: memory above {a.memory_percent}%", threshold(
                metric("cloudsql.googleapis.com/database/memory/utilization", "cloudsql_database", **sql),
                "COMPARISON_GT", a.memory_percent / 100, hot, aligner="ALIGN_MEAN"))
        if args.redis_instance is not None:
            self._policy("cache-memory", f"cache: memory above {a.memory_percent}%", threshold(
                metric("redis.googleapis.com/stats/memory/usage_ratio", "redis_instance",
                       **{"resource.label.instance_id": args.redis_instance}),
                "COMPARISON_GT", a.memory_percent / 100, hot, aligner="ALIGN_MEAN"))

        dashboard = gcp.monitoring.Dashboard(
            "dashboard", dashboard_json=pulumi.Output.json_dumps(self._dashboard()), opts=child)
        self.dashboard_url = pulumi.Output.format(
            "https://console.cloud.google.com/monitoring/dashboards/builder/{0}?project={1}",
            dashboard.id.apply(lambda i: i.rsplit("/", 1)[-1]), args.project)
        self.register_outputs({"dashboard_url": self.dashboard_url})

    def _policy(self, name: str, description: str, condition: dict[str, Any]) -> None:
        args = self._args
        self.policies[name] = gcp.monitoring.AlertPolicy(
            name, display_name=f"{args.prefix} {name}", combiner="OR", severity="ERROR",
            conditions=[{"display_name": description, **condition}],
            notification_channels=[self.channel.id] if self.channel else [],
            documentation={"content": f"berth {args.prefix}: {description}.", "mime_type": "text/markdown"},
            alert_strategy={"auto_close": seconds(7 * 24 * 3600)},
            user_labels={"berth-stack": args.prefix}, opts=pulumi.ResourceOptions(parent=self))

    def _usage(self, name: str, resource: str, labels: dict[str, pulumi.Input[str]]) -> None:
        a, hot = self._args.spec, HOT_MINUTES * MINUTE
        for kind, percent in (("cpu", a.cpu_percent), ("memory", a.memory_percent)):
            self._policy(f"{name}-{kind}", f"{name}: {kind} above {percent}%", threshold(
                metric(f"run.googleapis.com/container/{kind}/utilizations", resource, **labels),
                "COMPARISON_GT", percent / 100, hot, aligner="ALIGN_DELTA", reducer="REDUCE_PERCENTILE_95"))

    def _uptime(self, web: WebTarget) -> None:
        args = self._args
        period = args.uptime_period_seconds
        check = gcp.monitoring.UptimeCheckConfig(
            f"{web.name}-uptime", display_name=f"{args.prefix} {web.name} readiness",
            period=seconds(period), timeout=seconds(web.timeout_seconds), checker_type="STATIC_IP_CHECKERS",
            http_check={"path": web.path, "port": 443 if args.tls else 80, "use_ssl": args.tls,
                        "validate_ssl": args.tls, "request_method": "GET",
                        "accepted_response_status_codes": [{"status_class": "STATUS_CLASS_2XX"}]},
            monitored_resource={"type": "uptime_url", "labels": {"project_id": args.project, "host": args.host}},
            opts=pulumi.ResourceOptions(parent=self))
        self.uptime_checks[web.name] = check
        failures = args.spec.health_failures
        passed = pulumi.Output.format(
            'metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND resource.type="uptime_url"'
            ' AND metric.label.check_id="{0}"', check.uptime_check_id)
        # One point per check period; the first failing one starts the condition, so it must hold
        # for (failures - 1) more periods: `failures` failed checks in a row.
        self._policy(f"{web.name}-uptime", f"{web.name}: readiness check failed {failures} times in a row", {
            "condition_threshold": {
                "filter": passed, "comparison": "COMPARISON_GT", "threshold_value": 1,
                "duration": seconds(period * (failures - 1)), "trigger": {"count": 1},
                "aggregations": [{"alignment_period": seconds(period), "per_series_aligner": "ALIGN_NEXT_OLDER",
                                  "cross_series_reducer": "REDUCE_COUNT_FALSE",
                                  "group_by_fields": ["resource.label.host"]}]}})

    def _dashboard(self) -> dict[str, Any]:
        args = self._args
        tiles: list[dict[str, Any]] = []

        def chart(title: str, series: list[tuple[pulumi.Input[str], str, str, str]]) -> None:
            data = [{"plotType": "LINE", "legendTemplate": legend, "timeSeriesQuery": {"timeSeriesFilter": {
                "filter": flt, "aggregation": {"alignmentPeriod": seconds(MINUTE), "perSeriesAligner": aligner,
                                               "crossSeriesReducer": reducer}}}}
                    for flt, aligner, reducer, legend in series]
            i = len(tiles)
            tiles.append({"xPos": (i % 2) * 24, "yPos": (i // 2) * 16, "width": 24, "height": 16,
                          "widget": {"title": title, "xyChart": {"dataSets": data}}})

        for web in args.web:
            lb = metric("loadbalancing.googleapis.com/https/request_count", "https_lb_rule",
                        **{"resource.label.backend_target_name": web.backend})
            chart(f"{web.name}: requests and 5xx", [
                (lb, "ALIGN_RATE", "REDUCE_SUM", "requests/s"),
                (pulumi.Output.concat(lb, " AND metric.label.response_code_class=500"), "ALIGN_RATE", "REDUCE_SUM", "5xx/s")])
            run = {"resource.label.service_name": web.run_service}
            latency = metric("run.googleapis.com/request_latencies", "cloud_run_revision", **run)
            chart(f"{web.name}: latency (ms)", [(latency, "ALIGN_DELTA", f"REDUCE_PERCENTILE_{p}", f"p{p}")
                                                 for p in ("50", "95", "99")])
            chart(f"{web.name}: instances", [(metric("run.googleapis.com/container/instance_count",
                                                     "cloud_run_revision", **run), "ALIGN_MAX", "REDUCE_SUM", "instances")])
        for worker, pool in args.workers.items():
            chart(f"{worker}: CPU", [(metric("run.googleapis.com/container/cpu/utilizations", "cloud_run_worker_pool",
                                             **{"resource.label.worker_pool_name": pool}),
                                      "ALIGN_DELTA", "REDUCE_PERCENTILE_95", "p95")])
        if args.database_instance is not None:
            sql = {"resource.label.database_id": pulumi.Output.concat(args.project, ":", args.database_instance)}
            chart("database: CPU and memory", [
                (metric(f"cloudsql.googleapis.com/database/{m}/utilization", "cloudsql_database", **sql),
                 "ALIGN_MEAN", "REDUCE_MAX", m) for m in ("cpu", "memory")])
            chart("database: connections", [(metric("cloudsql.googleapis.com/database/postgresql/num_backends",
                                                    "cloudsql_database", **sql), "ALIGN_MEAN", "REDUCE_SUM", "backends")])
        return {"displayName": f"berth {args.prefix}", "mosaicLayout": {"columns": 48, "tiles": tiles}}

