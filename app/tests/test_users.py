"""Authorization without a database round trip per request, still current on the next request:
admins change roles and status through PATCH /api/users/{id}, which bumps the user's version and
publishes the snapshot every worker and replica reads from Redis."""

from __future__ import annotations

import anyio.to_thread
import jwt
import redis
from fastapi.testclient import TestClient
from sqlalchemy import event

from app.main import create_app
from app.tests.conftest import TEST_SECRET, auth
from app.users import Principal


def _user_id(token: str) -> int:
    return int(jwt.decode(token, TEST_SECRET, algorithms=["HS256"])["sub"])


def _patch(client: TestClient, admin_token: str, user_id: int, **changes: object):  # noqa: ANN202
    return client.patch(f"/api/users/{user_id}", json=changes, headers=auth(admin_token))


def test_role_and_status_changes_take_effect_on_the_next_request(settings, tokens) -> None:
    user_id = _user_id(tokens["user"])
    detailed = "/api/feedback/detailed"
    # Two replicas of the service sharing Redis and Postgres.
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        assert two.get(detailed, headers=auth(tokens["user"])).status_code == 403  # snapshot now cached
        promoted = _patch(one, tokens["admin"], user_id, role="admin")
        assert promoted.status_code == 200
        assert promoted.json() == {"id": user_id, "email": "user@example.test", "role": "admin", "is_active": True}
        assert two.get(detailed, headers=auth(tokens["user"])).status_code == 200

        assert _patch(two, tokens["admin"], user_id, role="user").status_code == 200
        assert one.get(detailed, headers=auth(tokens["user"])).status_code == 403

        assert _patch(one, tokens["admin"], user_id, is_active=False).status_code == 200
        disabled = two.post("/api/ask", json={"question": "What is berth?"}, headers=auth(tokens["user"]))
        assert disabled.status_code == 401 and disabled.json()["error"] == "not_authenticated"

        assert _patch(two, tokens["admin"], user_id, is_active=True).status_code == 200
        assert one.post("/api/ask", json={"question": "What is berth?"},
                        headers=auth(tokens["user"])).status_code == 200
        # Users cannot change roles; unknown users and empty changes are refused.
        assert _patch(one, tokens["user"], user_id, role="admin").status_code == 403
        assert _patch(one, tokens["admin"], 999_999, role="admin").status_code == 404
        assert _patch(one, tokens["admin"], user_id).status_code == 422
    r = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    assert r.get(f"auth:v1:{user_id}") == "5:user:1"  # four changes after version 1


def test_a_stale_snapshot_never_overwrites_a_newer_one(settings, tokens) -> None:
    user_id = _user_id(tokens["user"])
    with TestClient(create_app(settings)) as client:
        assert _patch(client, tokens["admin"], user_id, role="admin").status_code == 200
        auth_cache = client.app.state.auth
        # A reader that loaded the row before the change writes back late: the newer version stays.
        stale = Principal(user_id, "user", True, 1)
        client.portal.call(auth_cache.publish, stale)
        assert client.get("/api/feedback/detailed", headers=auth(tokens["user"])).status_code == 200
    assert redis.Redis.from_url(settings.redis_url, decode_responses=True).get(f"auth:v1:{user_id}") == "2:admin:1"


def test_a_missing_snapshot_is_loaded_from_the_database(settings, tokens) -> None:
    user_id = _user_id(tokens["user"])
    r = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/feedback/detailed", headers=auth(tokens["admin"])).status_code == 200
        r.delete(f"auth:v1:{_user_id(tokens['admin'])}")  # evicted, or Redis restarted
        assert client.get("/api/feedback/detailed", headers=auth(tokens["admin"])).status_code == 200
        assert client.get("/api/feedback/detailed", headers=auth(tokens["user"])).status_code == 403
    assert r.get(f"auth:v1:{_user_id(tokens['admin'])}") == "1:admin:1"
    assert r.get(f"auth:v1:{user_id}") == "1:user:1"


class Counters:
    """Database statements, cache round trips and threadpool hops made by one app."""

    def __init__(self, app, monkeypatch) -> None:  # noqa: ANN001
        self.statements = self.round_trips = self.thread_hops = 0
        event.listen(app.state.db.engine.sync_engine, "before_cursor_execute", self._statement)
        store = app.state.store
        execute = store._execute

        async def counted_execute(ops):  # noqa: ANN001, ANN202
            self.round_trips += 1
            return await execute(ops)

        monkeypatch.setattr(store, "_execute", counted_execute)
        run_sync = anyio.to_thread.run_sync

        async def counted_run_sync(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            self.thread_hops += 1
            return await run_sync(*args, **kwargs)

        monkeypatch.setattr(anyio.to_thread, "run_sync", counted_run_sync)

    def _statement(self, *_args: object) -> None:
        self.statements += 1

    def reset(self) -> tuple[int, int, int]:
        counts = (self.statements, self.round_trips, self.thread_hops)
        self.statements = self.round_trips = self.thread_hops = 0
        return counts


def test_cache_hit_ask_makes_one_cache_round_trip_no_statement_no_thread_hop(settings, tokens, monkeypatch) -> None:
    app = create_app(settings.model_copy(update={"health_cache_seconds": 60}))
    app.state.questions.interval = 3600  # its background push would count as a round trip here
    with TestClient(app) as client:
        counters = Counters(app, monkeypatch)
        ask = {"json": {"question": "What is berth?"}, "headers": auth(tokens["user"])}
        assert client.post("/api/ask", **ask).json()["cached"] is False
        miss = counters.reset()
        hit = client.post("/api/ask", **ask)
        assert hit.status_code == 200 and hit.json()["cached"] is True
        assert counters.reset() == (0, 1, 0)
        assert client.get("/readiness").status_code == 200  # the first probe fills the health cache
        counters.reset()
        for path in ("/liveness", "/readiness"):
            assert client.get(path).status_code == 200
        assert counters.reset() == (0, 0, 0)
    # The first ask also loaded the caller's snapshot (one statement, then a publish) and the FAQ
    # (one statement), and stored the answer: two statements, three round trips.
    assert miss == (2, 3, 0)
