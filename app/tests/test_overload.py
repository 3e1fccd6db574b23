"""Overload on a real server against real Postgres and Redis: a burst is served, and what cannot
be served is a 503 with Retry-After, never a 500 and never a long wait."""

from __future__ import annotations

import threading

import httpx
import psycopg

from app.main import create_app
from app.tests.conftest import LiveServer, add_user, auth, concurrently, make_settings, metric, wait_for


def _feedback(token: str, question: str) -> tuple[str, str, dict]:
    return "POST", "/api/feedback", {"json": {"question": question, "rating": 4}, "headers": auth(token)}


def test_burst_of_ten_times_the_pool_is_served_without_a_5xx(settings) -> None:
    pool = 3
    burst_settings = settings.model_copy(update={"db_pool_size": pool})  # the default checkout timeout
    token = add_user(burst_settings, "burst@example.test", "user")
    requests = []
    for i in range(10 * pool):  # database writes, cache misses and cache hits at once
        requests.append(_feedback(token, f"burst {i}") if i % 3 else
                        ("POST", "/api/ask", {"json": {"question": "What is berth?" if i % 2 else f"zebra {i}"},
                                              "headers": auth(token)}))
    with LiveServer(create_app(burst_settings)) as server:
        before = httpx.get(server.url + "/metrics").text  # metrics are per process: earlier tests counted too
        responses = concurrently(requests, server.url)
        text = httpx.get(server.url + "/metrics").text
    assert sorted({r.status_code for r in responses}) == [200, 201], [r.text for r in responses if r.status_code >= 300]
    acknowledged = {r.json()["id"] for r in responses if r.status_code == 201}
    with psycopg.connect(settings.database_url) as conn:
        stored = {row[0] for row in conn.execute("SELECT id FROM feedback")}
    assert acknowledged == stored and len(acknowledged) == 20
    labels = {"endpoint": "/api/feedback", "method": "POST"}
    assert metric(text, "api_requests_total", status="201", **labels) - metric(
        before, "api_requests_total", status="201", **labels) == 20


class TableLock:
    """Holds an exclusive lock on the feedback table, so every insert waits with its connection."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url)
        self.conn.execute("LOCK TABLE feedback IN ACCESS EXCLUSIVE MODE")

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


def _post_in_background(url: str, token: str, question: str, results: list) -> threading.Thread:
    thread = threading.Thread(target=lambda: results.append(
        httpx.post(url + "/api/feedback", json={"question": question, "rating": 5}, headers=auth(token), timeout=30)))
    thread.start()
    return thread


def _waiting_inserts(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND query LIKE 'INSERT INTO feedback%%'").fetchone()[0]


def test_pool_exhaustion_is_503_with_retry_after(settings) -> None:
    small = settings.model_copy(update={"db_pool_size": 1, "db_pool_timeout_seconds": 0.3})
    token = add_user(small, "pool@example.test", "user")
    lock = TableLock(small.database_url)
    held: list[httpx.Response] = []
    try:
        with LiveServer(create_app(small)) as server:
            before = httpx.get(server.url + "/metrics").text
            thread = _post_in_background(server.url, token, "holds the only connection", held)
            assert wait_for(lambda: _waiting_inserts(small.database_url) == 1, 10)
            refused = httpx.post(server.url + "/api/feedback", json={"question": "no connection", "rating": 1},
                                 headers=auth(token), timeout=30)
            lock.release()
            thread.join(30)
            text = httpx.get(server.url + "/metrics").text
    finally:
        lock.release()
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "overloaded" and refused.headers["retry-after"] == "1"
    assert held[0].status_code == 201
    with psycopg.connect(small.database_url) as conn:
        assert [r[0] for r in conn.execute("SELECT question FROM feedback")] == ["holds the only connection"]
    shed = {"reason": "database_pool"}
    assert metric(text, "requests_shed_total", **shed) - metric(before, "requests_shed_total", **shed) == 1


def test_requests_past_the_in_flight_bound_are_503_but_probes_are_not(settings) -> None:
    bounded = settings.model_copy(update={"max_concurrent_requests": 2})
    token = add_user(bounded, "bound@example.test", "user")
    lock = TableLock(bounded.database_url)
    held: list[httpx.Response] = []
    try:
        with LiveServer(create_app(bounded)) as server:
            threads = [_post_in_background(server.url, token, f"in flight {i}", held) for i in range(2)]
            assert wait_for(lambda: _waiting_inserts(bounded.database_url) == 2, 10)
            refused = httpx.get(server.url + "/version")
            probes = [httpx.get(server.url + path).status_code for path in ("/liveness", "/readiness", "/health")]
            lock.release()
            for thread in threads:
                thread.join(30)
            after = httpx.get(server.url + "/version")
    finally:
        lock.release()
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert refused.json()["error"] == "overloaded" and refused.json()["request_id"] == refused.headers["x-request-id"]
    assert probes == [200, 200, 200]
    assert sorted(r.status_code for r in held) == [201, 201] and after.status_code == 200
