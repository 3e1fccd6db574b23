"""A cache that hangs (accepts connections, never answers) costs one short timeout per breaker
window: the breaker opens on the first timeout, requests are served without the cache meanwhile,
and when the window ends one probe at a time tries Redis again. Rate limits fail open to each
worker's own limiter, counted and logged once per window."""

from __future__ import annotations

import io
import logging
import time
import uuid

import httpx

from app.core.logging import JsonFormatter
from app.main import create_app
from app.tests.conftest import LiveServer, add_user, auth, concurrently, make_settings, metric, parse_lines

WINDOW = 1.5


def _warnings(stream: io.StringIO) -> list[dict]:
    return [r for r in parse_lines(stream) if r["level"] == "WARNING" and r["message"].startswith("redis unavailable")]


def test_hung_cache_costs_one_timeout_per_window_and_one_probe_half_open(migrated_pg, hung_cache) -> None:
    settings = make_settings(database_url=migrated_pg, redis_url=hung_cache.url, cache_timeout_seconds=0.2,
                             breaker_seconds=WINDOW)
    token = add_user(settings, f"hung-{uuid.uuid4().hex[:8]}@example.test", "user")
    ask = ("POST", "/api/ask", {"json": {"question": "What is berth?"}, "headers": auth(token)})
    app = create_app(settings)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    try:
        with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
            before = http.get("/metrics").text  # metrics are per process: earlier tests counted too
            first_window = [http.request(*ask[:2], **ask[2]) for _ in range(6)]
            after_first = (hung_cache.accepted, len(_warnings(stream)))
            time.sleep(WINDOW + 0.2)  # let the window end: the breaker is half-open now
            half_open = concurrently([ask] * 6, server.url)
            after_probe = (hung_cache.accepted, len(_warnings(stream)))
            still_open = [http.request(*ask[:2], **ask[2]) for _ in range(3)]
            text = http.get("/metrics").text
    finally:
        logging.getLogger().removeHandler(handler)
    served = first_window + half_open + still_open
    assert [r.status_code for r in served] == [200] * 15
    assert {r.json()["source"] for r in served} == {"faq"}
    # One connection (one timeout) for the whole first window, then exactly one probe half-open.
    assert after_first == (1, 1)
    assert after_probe == (2, 2) and hung_cache.accepted == 2
    assert metric(text, "errors_total", type="redis") - metric(before, "errors_total", type="redis") == 2
    assert metric(text, "rate_limit_fail_open_total") - metric(before, "rate_limit_fail_open_total") == 15
    warning = _warnings(stream)[0]
    assert "per worker" in warning["message"] and warning["error"] == "TimeoutError"


def test_hung_cache_keeps_the_per_worker_limit(migrated_pg, hung_cache) -> None:
    settings = make_settings(database_url=migrated_pg, redis_url=hung_cache.url, cache_timeout_seconds=0.2,
                             rate_limit_per_minute=3)
    token = add_user(settings, f"hung-limit-{uuid.uuid4().hex[:8]}@example.test", "user")
    with LiveServer(create_app(settings)) as server:
        codes = [httpx.post(server.url + "/api/ask", json={"question": "What is berth?"}, headers=auth(token),
                            timeout=30).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
