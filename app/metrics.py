"""Prometheus metrics. Multiprocess-safe when PROMETHEUS_MULTIPROC_DIR is set (gunicorn)."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

_MP_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _MP_DIR:
    os.makedirs(_MP_DIR, exist_ok=True)

REQUESTS = Counter("api_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "api_request_duration_seconds",
    "HTTP request latency",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ERRORS = Counter("errors_total", "Errors by type (unhandled, dependency outages)", ["type"])
CACHE_OPS = Counter("cache_operations_total", "Answer cache operations", ["operation"])
RATE_LIMITED = Counter("rate_limited_total", "Requests refused with 429")
RATE_LIMIT_FAIL_OPEN = Counter(
    "rate_limit_fail_open_total",
    "Requests admitted by a worker's own limiter because Redis was unavailable (limits per worker)")
SHED = Counter("requests_shed_total", "Requests refused with 503 under overload", ["reason"])


def render() -> tuple[bytes, str]:
    if _MP_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
