"""Alerting with the Prometheus operator: a ServiceMonitor for the web services' `/metrics`, a
PrometheusRule with the alerts the other targets have (the same spec thresholds), an
AlertmanagerConfig that sends them to `alerts.email`, and a Grafana dashboard ConfigMap (picked up
by the Grafana sidecar's label) with the clouds' dashboard panels.

Every alert carries `berth_stack: <project>-<stack>` (what the AlertmanagerConfig's route matches),
`berth_service`, and `namespace`: the operator confines an AlertmanagerConfig's route to alerts of
its own namespace, and an aggregated expression (`sum(…)`) keeps no label of its own.
SMTP is the cluster's Alertmanager's global configuration (docs/targets/kubernetes.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.names import labels, object_name
from components.kubernetes.workload import PORT_NAME
from infra.spec import Alerts as AlertsSpec

GIB = 1024 ** 3
SCRAPE_INTERVAL = "30s"
RATE_WINDOW = "2m"  # four scrapes: a rate that reacts within the alert's minutes


@dataclass
class Watched:
    name: str  # the spec's service name
    deployment: str  # its Deployment's (and Service's) Kubernetes name
    web: bool


@dataclass
class AlertsArgs:
    prefix: str
    namespace: str
    spec: AlertsSpec
    services: list[Watched]
    monitoring_labels: dict[str, str]
    dashboard_labels: dict[str, str]
    dashboard_namespace: str
    database: Optional[str] = None  # the CloudNativePG Cluster's name
    depends_on: list[pulumi.Resource] = field(default_factory=list)


def _sel(**matchers: str) -> str:
    return "{" + ", ".join(f'{k}{"=~" if v.startswith("~") else "="}"{v.lstrip("~")}"' for k, v in matchers.items()) + "}"


def _pods(deployment: str) -> str:
    return f"~{deployment}-[a-z0-9]+-[a-z0-9]+"  # <deployment>-<replicaset hash>-<pod suffix>


def _usage(ns: str, pods: str, container: str, resource: str) -> str:
    """A container's CPU or memory use as a percentage of its limit."""
    used = (f"sum(rate(container_cpu_usage_seconds_total{_sel(namespace=ns, pod=pods, container=container)}"
            f"[5m]))" if resource == "cpu" else
            f"sum(container_memory_working_set_bytes{_sel(namespace=ns, pod=pods, container=container)})")
    limit = f"sum(kube_pod_container_resource_limits{_sel(namespace=ns, pod=pods, container=container, resource=resource)})"
    return f"100 * {used} / {limit}"


class Alerts(pulumi.ComponentResource):
    rules: dict[str, dict[str, Any]]  # alert name → the rule, as written to the PrometheusRule

    def __init__(self, name: str, args: AlertsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:kubernetes:Alerts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))
        a, ns = args.spec, args.namespace
        meta_labels = {**labels(args.prefix, "alerts", "monitoring"), **args.monitoring_labels}
        self.rules = {}

        def alert(key: str, service: Optional[str], expr: str, wait: str, severity: str, summary: str) -> None:
            self.rules[key] = {
                "alert": key, "expr": expr, "for": wait,
                "labels": {"severity": severity, "berth_stack": args.prefix, "namespace": ns,
                           **({"berth_service": service} if service else {})},
                "annotations": {"summary": summary, "description": f"{args.prefix}: {summary}"},
            }

        web = [s for s in args.services if s.web]
        for s in args.services:
            deploy = _sel(namespace=ns, deployment=s.deployment)
            if s.web:
                req = _sel(namespace=ns, service=s.deployment)
                errors = _sel(namespace=ns, service=s.deployment, status="~5..")
                alert(f"{s.name}-error-rate", s.name,
                      f"100 * sum(rate(api_requests_total{errors}[{RATE_WINDOW}])) / "
                      f"sum(rate(api_requests_total{req}[{RATE_WINDOW}])) > {a.error_rate_percent:g}",
                      f"{a.error_rate_minutes}m", "critical",
                      f"{s.name}: 5xx responses above {a.error_rate_percent:g}% of requests for {a.error_rate_minutes} min")
                alert(f"{s.name}-p95-latency", s.name,
                      "histogram_quantile(0.95, sum by (le) "
                      f"(rate(api_request_duration_seconds_bucket{req}[5m]))) > {a.p95_latency_seconds:g}",
                      "5m", "warning", f"{s.name}: p95 response time above {a.p95_latency_seconds:g} s")
                alert(f"{s.name}-down", s.name, f"(sum(up{req}) or vector(0)) == 0",
                      f"{a.health_failures}m", "critical", f"{s.name}: no replica answers /metrics")
            alert(f"{s.name}-unhealthy", s.name, f"kube_deployment_status_replicas_unavailable{deploy} > 0",
                  f"{a.health_failures}m", "warning",
                  f"{s.name}: replicas failing their probes for {a.health_failures} min")
            alert(f"{s.name}-no-replicas", s.name,
                  f"(sum(kube_deployment_status_replicas_available{deploy}) or vector(0)) < 1",
                  "2m", "critical", f"{s.name}: no available replica")
            alert(f"{s.name}-cpu", s.name, f"{_usage(ns, _pods(s.deployment), s.name, 'cpu')} > {a.cpu_percent}",
                  "5m", "warning", f"{s.name}: CPU above {a.cpu_percent}% of its limit")
            alert(f"{s.name}-memory", s.name,
                  f"{_usage(ns, _pods(s.deployment), s.name, 'memory')} > {a.memory_percent}",
                  "5m", "warning", f"{s.name}: memory above {a.memory_percent}% of its limit")
        if args.database:
            pvcs = _sel(namespace=ns, persistentvolumeclaim=f"~{args.database}-[0-9]+")
            alert("database-free-storage", None,
                  f"min(kubelet_volume_stats_available_bytes{pvcs}) < {a.db_free_storage_gb * GIB:.0f}",
                  "5m", "critical", f"database: free storage under {a.db_free_storage_gb:g} GB")
            alert("database-cpu", None,
                  f"{_usage(ns, f'~{args.database}-[0-9]+', 'postgres', 'cpu')} > {a.cpu_percent}",
                  "5m", "warning", f"database: CPU above {a.cpu_percent}% of its limit")

        if web:
            k8s.apiextensions.CustomResource(
                "service-monitor", api_version="monitoring.coreos.com/v1", kind="ServiceMonitor",
                metadata={"name": object_name(args.prefix, "metrics"), "namespace": ns, "labels": meta_labels},
                spec={"selector": {"matchLabels": {"app.kubernetes.io/instance": args.prefix,
                                                   "app.kubernetes.io/component": "web"}},
                      "namespaceSelector": {"matchNames": [ns]},
                      "endpoints": [{"port": PORT_NAME, "path": "/metrics", "interval": SCRAPE_INTERVAL,
                                     "scrapeTimeout": "10s", "scheme": "http"}]},
                opts=child)
        k8s.apiextensions.CustomResource(
            "prometheus-rule", api_version="monitoring.coreos.com/v1", kind="PrometheusRule",
            metadata={"name": object_name(args.prefix, "alerts"), "namespace": ns, "labels": meta_labels},
            spec={"groups": [{"name": args.prefix, "rules": list(self.rules.values())}]},
            opts=child)
        if a.email:
            k8s.apiextensions.CustomResource(
                "alertmanager-config", api_version="monitoring.coreos.com/v1alpha1", kind="AlertmanagerConfig",
                metadata={"name": object_name(args.prefix, "alerts"), "namespace": ns, "labels": meta_labels},
                spec=notification(args.prefix, a.email), opts=child)
        k8s.core.v1.ConfigMap(
            "dashboard",
            metadata={"name": object_name(args.prefix, "dashboard"), "namespace": args.dashboard_namespace,
                      "labels": {**labels(args.prefix, "dashboard", "monitoring"), **args.dashboard_labels}},
            data={f"{args.prefix}.json": json.dumps(dashboard(args), sort_keys=True)},
            opts=child)
        self.register_outputs({"alerts": sorted(self.rules)})


def notification(stack: str, email: str) -> dict[str, Any]:
    """The stack's alerts, grouped per alert and service, to one email receiver (SMTP: Alertmanager's
    global `smtp_*` settings); resolved ones too, and a reminder every 4 hours while one fires."""
    return {
        "route": {"receiver": "email", "groupBy": ["alertname", "berth_service"],
                  "groupWait": "30s", "groupInterval": "5m", "repeatInterval": "4h",
                  "matchers": [{"name": "berth_stack", "value": stack, "matchType": "="}]},
        "receivers": [{"name": "email", "emailConfigs": [{"to": email, "sendResolved": True}]}],
    }


def dashboard(args: AlertsArgs) -> dict[str, Any]:
    """The clouds' dashboard panels: requests, 5xx, p50/p95/p99, CPU and memory per service,
    database connections."""
    ns = args.namespace
    panels: list[dict[str, Any]] = []

    def panel(title: str, targets: list[tuple[str, str]], unit: str = "short") -> None:
        index = len(panels)
        panels.append({"id": index + 1, "type": "timeseries", "title": title,
                       "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
                       "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                       "targets": [{"refId": chr(65 + i), "expr": expr, "legendFormat": legend}
                                   for i, (expr, legend) in enumerate(targets)]})

    web = [s for s in args.services if s.web]
    if web:
        services = "|".join(s.deployment for s in web)
        sel = _sel(namespace=ns, service=f"~{services}")
        errors = _sel(namespace=ns, service=f"~{services}", status="~5..")
        panel("Requests", [(f"sum by (service) (rate(api_requests_total{sel}[{RATE_WINDOW}]))", "{{service}}")], "reqps")
        panel("Errors (5xx)", [(f"sum by (service) (rate(api_requests_total{errors}[{RATE_WINDOW}]))", "{{service}}")],
              "reqps")
        panel("Response time", [
            (f"histogram_quantile({q}, sum by (le) (rate(api_request_duration_seconds_bucket{sel}[5m])))", f"p{p}")
            for q, p in ((0.5, 50), (0.95, 95), (0.99, 99))], "s")
    for s in args.services:
        panel(f"{s.name}: CPU and memory (% of limit)", [
            (_usage(ns, _pods(s.deployment), s.name, "cpu"), "CPU"),
            (_usage(ns, _pods(s.deployment), s.name, "memory"), "memory")], "percent")
    if args.database:
        panel("Database connections", [(f"sum(cnpg_backends_total{_sel(namespace=ns)})", "connections")])
    return {"title": f"berth {args.prefix}", "uid": args.prefix, "schemaVersion": 39, "tags": ["berth"],
            "time": {"from": "now-6h", "to": "now"}, "refresh": "1m", "panels": panels}
