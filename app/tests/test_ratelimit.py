"""Rate limits are moving windows: at most N requests in any 60-second span, across fixed-window
boundaries too, decided by the app against real Redis (and by a worker alone without Redis).
The limiter's clock is moved by the test; everything else is the real request path."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.tests.conftest import add_user, auth, make_settings, reset_state

MINUTE_START = 60 * 29_000_000  # a whole minute: where a fixed window would reset


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _asker(app_settings):  # noqa: ANN001, ANN202
    token = add_user(app_settings, "limited@example.test", "user")
    client = TestClient(create_app(app_settings))
    clock = Clock(MINUTE_START)
    client.app.state.limiter.clock = clock

    def ask(at: float):  # noqa: ANN202
        clock.now = MINUTE_START + at
        return client.post("/api/ask", json={"question": "What is berth?"}, headers=auth(token))

    return client, ask


@pytest.fixture(params=["redis", "memory"])
def limited_settings(request, migrated_pg: str, redis_url: str):  # noqa: ANN001, ANN201
    """Both limiters: the shared one in Redis, and a worker's own (no REDIS_URL)."""
    reset_state(migrated_pg, redis_url)
    return make_settings(database_url=migrated_pg, redis_url=redis_url if request.param == "redis" else None,
                         rate_limit_per_minute=3, rate_limit_per_hour=1000)


def test_no_second_budget_across_a_minute_boundary(limited_settings) -> None:
    client, ask = _asker(limited_settings)
    with client:
        before = [ask(-1.0).status_code for _ in range(3)]  # the last second of a minute
        crossing = ask(0.5)  # a fixed window would start afresh here
        late = ask(58.9)
        again = [ask(59.0).status_code for _ in range(4)]  # the first three are 60 s old now
    assert before == [200, 200, 200]
    assert crossing.status_code == 429 and crossing.headers["retry-after"] == "59"
    assert crossing.json()["error"] == "rate_limited"
    assert late.status_code == 429 and late.headers["retry-after"] == "1"
    assert again == [200, 200, 200, 429]


def test_at_most_n_in_any_window_for_random_arrivals(limited_settings) -> None:
    rng = random.Random(12)
    arrivals = sorted(round(rng.uniform(0, 300), 3) for _ in range(60))
    client, ask = _asker(limited_settings)
    with client:
        decisions = [(t, ask(t).status_code) for t in arrivals]
    admitted = [t for t, status in decisions if status == 200]
    assert {status for _, status in decisions} == {200, 429}
    # Never more than 3 in any 60-second span...
    assert all(sum(start <= t < start + 60 for t in admitted) <= 3 for start in admitted)
    # ...and a request is refused only when 3 were admitted in the 60 s before it.
    for t, status in decisions:
        recent = sum(t - 60 < a <= t for a in admitted if a != t or status != 200)
        assert (status == 429) == (recent >= 3), (t, status, recent)


def test_hourly_window_and_retry_after(migrated_pg, redis_url) -> None:
    reset_state(migrated_pg, redis_url)
    settings = make_settings(database_url=migrated_pg, redis_url=redis_url, rate_limit_per_minute=100,
                             rate_limit_per_hour=4)
    client, ask = _asker(settings)
    with client:
        statuses = [ask(t).status_code for t in (0, 600, 1200, 1800)]
        refused = ask(3000)
        admitted = ask(3600)  # the first is an hour old
    assert statuses == [200, 200, 200, 200]
    assert refused.status_code == 429 and refused.headers["retry-after"] == "600"
    assert admitted.status_code == 200


def test_scripts_lost_by_a_redis_restart_are_reloaded_without_repeating_commands(client, tokens, settings) -> None:
    import redis

    r = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    r.script_flush()  # what a restarted Redis has: no scripts
    response = client.post("/api/ask", json={"question": "What is berth?"}, headers=auth(tokens["user"]))
    assert response.status_code == 200
    # The limiter's script was loaded and run once: one admitted request in the window, not two.
    assert r.llen("rl:{testclient}:60") == 1
