"""Probes, and real outages: a throwaway Redis and a throwaway Postgres cluster are stopped
and started under a running app; readiness follows, and accepted feedback survives."""

from __future__ import annotations

import io
import logging
import threading
import time

import httpx
import psycopg
from fastapi.testclient import TestClient

from app.core.logging import JsonFormatter
from app.main import create_app
from app.migrate import run_migrations
from app.tests.conftest import LiveServer, PASSWORD, add_user, auth, make_settings, metric, parse_lines, wait_for


def test_liveness_touches_no_dependency() -> None:
    # Nothing listens on these ports: liveness must still say the process is alive.
    settings = make_settings(database_url="postgresql://x:y@127.0.0.1:1/none", redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(settings)) as c:
        response = c.get("/liveness")
        ready = c.get("/readiness")
    assert response.status_code == 200 and response.json() == {"status": "alive"}
    assert ready.status_code == 503
    assert sorted(ready.json()["failed"]) == ["cache", "database"]


def test_readiness_and_health_when_all_is_well(client) -> None:
    ready = client.get("/readiness")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "cache": "ok"}}
    health = client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["version"] == "1.2.3-test"
    assert body["checks"] == {"database": "ok", "cache": "ok", "disk": "ok"}
    assert body["timestamp"].endswith("+00:00")


def test_health_results_are_cached_briefly(migrated_pg, throwaway_redis) -> None:
    settings = make_settings(database_url=migrated_pg, redis_url=throwaway_redis.url, health_cache_seconds=30)
    with TestClient(create_app(settings)) as c:
        assert c.get("/readiness").status_code == 200
        throwaway_redis.stop()
        # Within the cache window the probe does not hit the dependencies again.
        assert c.get("/readiness").status_code == 200


def test_redis_outage_readiness_503_service_keeps_serving(migrated_pg, throwaway_redis) -> None:
    settings = make_settings(database_url=migrated_pg, redis_url=throwaway_redis.url, rate_limit_per_minute=5)
    token = add_user(settings, "redis-outage@example.test", "user")
    accepted = []
    with TestClient(create_app(settings)) as c:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter())
        logging.getLogger().addHandler(handler)
        try:
            assert c.get("/readiness").status_code == 200
            accepted.append(c.post("/api/feedback", json={"question": "before", "rating": 5},
                                   headers=auth(token)).json()["id"])
            before = c.get("/metrics").text  # metrics are per process: earlier tests counted too

            throwaway_redis.stop()
            ready = c.get("/readiness")
            assert ready.status_code == 503
            assert ready.json()["error"] == "not_ready"
            assert ready.json()["failed"] == ["cache"]
            assert ready.json()["checks"]["database"] == "ok"
            # Fallback: answers and feedback still work, and the in-process limiter still limits.
            ask = c.post("/api/ask", json={"question": "What is berth?"}, headers=auth(token))
            assert ask.status_code == 200 and ask.json()["source"] == "faq"
            for i in range(2):
                r = c.post("/api/feedback", json={"question": f"during {i}", "rating": 3}, headers=auth(token))
                assert r.status_code == 201
                accepted.append(r.json()["id"])
            codes = [c.post("/api/ask", json={"question": "x"}, headers=auth(token)).status_code for _ in range(4)]
            assert 429 in codes
            text = c.get("/metrics").text
            # One failed call opened the breaker; the rest skipped Redis. Fail-open is counted per
            # request (7 requests) and logged once per breaker window, not per request.
            assert metric(text, "errors_total", type="redis") - metric(before, "errors_total", type="redis") == 1
            assert metric(text, "rate_limit_fail_open_total") - metric(before, "rate_limit_fail_open_total") == 7
            warnings = [r for r in parse_lines(stream) if r["level"] == "WARNING" and "redis unavailable" in r["message"]]
            assert len(warnings) == 1, stream.getvalue()

            throwaway_redis.start()
            assert wait_for(lambda: c.get("/readiness").status_code == 200, 10)
        finally:
            logging.getLogger().removeHandler(handler)
    with psycopg.connect(migrated_pg) as conn:
        stored = {r[0] for r in conn.execute("SELECT id FROM feedback WHERE id = ANY(%s)", (accepted,))}
    assert stored == set(accepted) and len(accepted) == 3


def test_postgres_outage_readiness_503_and_no_accepted_feedback_lost(throwaway_postgres, redis_url) -> None:
    settings = make_settings(database_url=throwaway_postgres.url, redis_url=redis_url)
    run_migrations(settings)
    token = add_user(settings, "pg-outage@example.test", "user")
    accepted, refused = [], 0
    with TestClient(create_app(settings)) as c:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter())
        logging.getLogger().addHandler(handler)
        assert c.get("/readiness").status_code == 200
        for i in range(3):
            accepted.append(c.post("/api/feedback", json={"question": f"before {i}", "rating": 4},
                                   headers=auth(token)).json()["id"])

        before = c.get("/metrics").text
        throwaway_postgres.stop()
        ready = c.get("/readiness")
        assert ready.status_code == 503
        assert ready.json()["failed"] == ["database"] and ready.json()["checks"]["cache"] == "ok"
        for i in range(3):
            r = c.post("/api/feedback", json={"question": f"during {i}", "rating": 2}, headers=auth(token))
            # Not accepted, and the client is told to retry: nothing acknowledged is dropped.
            assert r.status_code == 503, r.text
            assert r.json()["error"] == "database_unavailable" and r.headers["retry-after"]
            refused += 1
        assert c.get("/liveness").status_code == 200
        down = parse_lines(stream)
        logging.getLogger().removeHandler(handler)
        # Every failure counted, one warning for the window (the readiness probe's and the requests').
        after = c.get("/metrics").text
        assert metric(after, "errors_total", type="database") - metric(before, "errors_total", type="database") == 4
        assert [r["message"] for r in down if r["level"] == "WARNING"] == [
            "database unavailable: requests that need it get 503 with Retry-After"]

        throwaway_postgres.start()
        assert wait_for(lambda: c.get("/readiness").status_code == 200, 15)
        r = c.post("/api/feedback", json={"question": "after", "rating": 5}, headers=auth(token))
        assert r.status_code == 201
        accepted.append(r.json()["id"])
        login = c.post("/api/login", json={"email": "pg-outage@example.test", "password": PASSWORD})
        assert login.status_code == 200
    with psycopg.connect(throwaway_postgres.url) as conn:
        rows = conn.execute("SELECT id, question FROM feedback ORDER BY id").fetchall()
    assert [r[0] for r in rows] == accepted
    assert not any(q.startswith("during") for _, q in rows) and refused == 3


def test_postgres_restart_under_concurrent_writers_loses_no_acknowledged_write(throwaway_postgres, redis_url) -> None:
    settings = make_settings(database_url=throwaway_postgres.url, redis_url=redis_url, db_pool_size=4)
    run_migrations(settings)
    token = add_user(settings, "pg-restart@example.test", "user")
    acknowledged: list[int] = []
    statuses: list[int] = []
    stop = threading.Event()

    def writer(n: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for i in range(400):  # bounded; the restart ends well before
                if stop.is_set():
                    return
                r = http.post("/api/feedback", json={"question": f"writer {n} #{i}", "rating": 3},
                              headers=auth(token))
                statuses.append(r.status_code)
                if r.status_code == 201:
                    acknowledged.append(r.json()["id"])
                time.sleep(0.005)

    with LiveServer(create_app(settings)) as server:
        writers = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
        for thread in writers:
            thread.start()
        assert wait_for(lambda: len(acknowledged) >= 30, 30)
        throwaway_postgres.stop()
        during = len(statuses)
        assert wait_for(lambda: len(statuses) >= during + 12, 30)  # requests keep being answered meanwhile
        throwaway_postgres.start()
        restarted = len(acknowledged)
        assert wait_for(lambda: len(acknowledged) >= restarted + 30, 30), "writes did not resume"
        stop.set()
        for thread in writers:
            thread.join(30)
    with psycopg.connect(throwaway_postgres.url) as conn:
        stored = {row[0] for row in conn.execute("SELECT id FROM feedback")}
    assert set(acknowledged) <= stored and len(acknowledged) == len(set(acknowledged))
    assert set(statuses) <= {201, 503} and 503 in statuses  # refused while down, never a 500
