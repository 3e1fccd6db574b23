"""The API against real Postgres and Redis: success and failure paths, error bodies, headers."""

from __future__ import annotations

import datetime as dt

import jwt
import psycopg
import redis

from app.tests.conftest import TEST_SECRET, auth, make_settings, metric, parse_lines, wait_for

ERROR_KEYS = {"error", "message", "request_id"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert ERROR_KEYS <= set(body), body
    assert body["error"] == code
    assert body["request_id"] == response.headers["x-request-id"]
    return body


# --- service info ------------------------------------------------------------------------------

def test_root_and_version_describe_the_build(client) -> None:
    root = client.get("/")
    assert root.status_code == 200
    assert root.json()["name"] == "berth"
    assert "/api/ask" in root.json()["endpoints"]
    version = client.get("/version").json()
    assert version == {"version": "1.2.3-test", "git_sha": "abc1234", "build_date": "2026-11-24T00:00:00Z"}


def test_security_headers_on_every_response(client) -> None:
    for response in (client.get("/"), client.get("/nope"), client.post("/api/ask", json={})):
        h = response.headers
        assert h["x-frame-options"] == "DENY"
        assert h["x-content-type-options"] == "nosniff"
        assert "max-age=" in h["strict-transport-security"]
        assert "default-src 'none'" in h["content-security-policy"]


def test_cors_allows_only_listed_origins(client) -> None:
    allowed = client.options("/api/ask", headers={"Origin": "https://app.example.test",
                                                  "Access-Control-Request-Method": "POST"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.test"
    denied = client.options("/api/ask", headers={"Origin": "https://evil.example",
                                                 "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in denied.headers


# --- ask ---------------------------------------------------------------------------------------

def test_ask_answers_from_faq_then_from_cache(client, tokens, settings) -> None:
    first = client.post("/api/ask", json={"question": "What is berth?"}, headers=auth(tokens["user"]))
    assert first.status_code == 200
    body = first.json()
    assert body["source"] == "faq" and body["cached"] is False
    assert "Pulumi" in body["answer"]
    second = client.post("/api/ask", json={"question": "  what IS berth  "}, headers=auth(tokens["user"]))
    assert second.json() == {**body, "question": "what IS berth", "cached": True}
    # The answer is in Redis, and the question was logged for the worker.
    r = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    assert any(k.startswith("answer:v1:") for k in r.keys())
    # Pushed by the worker process's question log within a second.
    assert wait_for(lambda: r.lrange("questions:recent", 0, -1) == ["what is berth", "what is berth"], 10)


def test_ask_without_match_says_so(client, tokens) -> None:
    response = client.post("/api/ask", json={"question": "Zebra quantum pancakes?"}, headers=auth(tokens["user"]))
    assert response.status_code == 200
    assert response.json()["source"] == "none"


def test_ask_uses_openai_compatible_endpoint_when_key_set(migrated_pg, redis_url, fake_llm, tokens) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    settings = make_settings(database_url=migrated_pg, redis_url=redis_url, openai_api_key="sk-test-llm-key",
                             openai_base_url=fake_llm.base_url, openai_model="tiny")
    with TestClient(create_app(settings)) as c:
        response = c.post("/api/ask", json={"question": "Explain zebra quantum pancakes"},
                          headers=auth(tokens["user"]))
    assert response.status_code == 200
    assert response.json()["answer"] == "From the model." and response.json()["source"] == "llm"
    assert fake_llm.requests[0]["path"] == "/v1/chat/completions"
    assert fake_llm.requests[0]["auth"] == "Bearer sk-test-llm-key"
    assert fake_llm.requests[0]["body"]["model"] == "tiny"


def test_ask_falls_back_when_llm_fails(migrated_pg, redis_url, fake_llm, tokens) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    fake_llm.status = 500
    settings = make_settings(database_url=migrated_pg, redis_url=redis_url, openai_api_key="sk-x",
                             openai_base_url=fake_llm.base_url)
    with TestClient(create_app(settings)) as c:
        response = c.post("/api/ask", json={"question": "Explain zebra pancakes"}, headers=auth(tokens["user"]))
        metrics = c.get("/metrics").text
    assert response.status_code == 200 and response.json()["source"] == "none"
    assert 'errors_total{type="llm"}' in metrics


def test_ask_validation_errors(client, tokens) -> None:
    h = auth(tokens["user"])
    for payload in ({}, {"question": ""}, {"question": "   "}, {"question": "x" * 501},
                    {"question": "nul\x00byte"}, {"question": 42}):
        body = assert_error(client.post("/api/ask", json=payload, headers=h), 422, "validation_error")
        assert body["details"] and "loc" in body["details"][0]
    assert client.post("/api/ask", json={"question": "x" * 500}, headers=h).status_code == 200
    assert_error(client.post("/api/ask", content=b"not json", headers={**h, "content-type": "application/json"}),
                 422, "validation_error")


def test_ask_requires_a_valid_token(client, settings, tokens) -> None:
    q = {"question": "What is berth?"}
    body = assert_error(client.post("/api/ask", json=q), 401, "not_authenticated")
    assert "token" in body["message"]
    assert client.post("/api/ask", json=q).headers["www-authenticate"] == "Bearer"
    assert_error(client.post("/api/ask", json=q, headers=auth("garbage")), 401, "not_authenticated")
    forged = jwt.encode({"sub": "1", "role": "admin", "exp": dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)},
                        "another-secret-key-another-secret-key", algorithm="HS256")
    assert_error(client.post("/api/ask", json=q, headers=auth(forged)), 401, "not_authenticated")
    expired = jwt.encode({"sub": "1", "role": "user", "exp": dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)},
                         TEST_SECRET, algorithm="HS256")
    assert_error(client.post("/api/ask", json=q, headers=auth(expired)), 401, "not_authenticated")
    ghost = jwt.encode({"sub": "999999", "role": "admin", "exp": dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc)},
                       TEST_SECRET, algorithm="HS256")
    assert_error(client.post("/api/ask", json=q, headers=auth(ghost)), 401, "not_authenticated")


# --- feedback ----------------------------------------------------------------------------------

def test_feedback_is_stored(client, tokens, settings) -> None:
    response = client.post("/api/feedback", headers=auth(tokens["user"]),
                           json={"question": "What is berth?", "answer": "An API.", "rating": 4, "comment": "ok"})
    assert response.status_code == 201
    feedback_id = response.json()["id"]
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute("SELECT f.rating, f.comment, u.email FROM feedback f JOIN users u ON u.id = f.user_id "
                           "WHERE f.id = %s", (feedback_id,)).fetchone()
    assert row == (4, "ok", "user@example.test")


def test_feedback_validation_and_auth(client, tokens) -> None:
    h = auth(tokens["user"])
    for payload in ({"question": "q", "rating": 0}, {"question": "q", "rating": 6}, {"rating": 3},
                    {"question": "q", "rating": 3, "comment": "x" * 2001}):
        assert_error(client.post("/api/feedback", json=payload, headers=h), 422, "validation_error")
    assert_error(client.post("/api/feedback", json={"question": "q", "rating": 3}), 401, "not_authenticated")


def test_detailed_feedback_is_for_admins_only(client, tokens) -> None:
    client.post("/api/feedback", headers=auth(tokens["user"]), json={"question": "Q1", "rating": 5})
    client.post("/api/feedback", headers=auth(tokens["admin"]), json={"question": "Q2", "rating": 2})
    denied = assert_error(client.get("/api/feedback/detailed", headers=auth(tokens["user"])),
                          403, "insufficient_permissions")
    assert "admin" in denied["message"]
    assert_error(client.get("/api/feedback/detailed"), 401, "not_authenticated")
    page = client.get("/api/feedback/detailed", headers=auth(tokens["admin"])).json()
    assert page["total"] == 2
    assert [(i["question"], i["user_email"], i["rating"]) for i in page["items"]] == [
        ("Q2", "admin@example.test", 2), ("Q1", "user@example.test", 5)]
    one = client.get("/api/feedback/detailed?limit=1&offset=1", headers=auth(tokens["admin"])).json()
    assert [i["question"] for i in one["items"]] == ["Q1"]
    assert_error(client.get("/api/feedback/detailed?limit=0", headers=auth(tokens["admin"])), 422,
                 "validation_error")


# --- login -------------------------------------------------------------------------------------

def test_login_issues_a_working_token(client, tokens) -> None:
    from app.tests.conftest import PASSWORD

    response = client.post("/api/login", json={"email": "ADMIN@example.test", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert client.get("/api/feedback/detailed", headers=auth(token)).status_code == 200
    assert_error(client.post("/api/login", json={"email": "admin@example.test", "password": "wrong-password"}),
                 401, "invalid_credentials")
    assert_error(client.post("/api/login", json={"email": "nobody@example.test", "password": PASSWORD}),
                 401, "invalid_credentials")
    # Found by the fuzz test: Postgres rejects NUL, so it must be a 422, not a 500.
    assert_error(client.post("/api/login", json={"email": "a\x00@example.test", "password": PASSWORD}),
                 422, "validation_error")


# --- generic errors ----------------------------------------------------------------------------

def test_404_405_413_share_the_error_shape(client, settings, tokens) -> None:
    assert_error(client.get("/no/such/path"), 404, "not_found")
    assert_error(client.delete("/api/ask"), 405, "method_not_allowed")
    big = {"question": "q", "rating": 3, "comment": "x" * (settings.max_body_bytes + 10)}
    assert_error(client.post("/api/feedback", json=big, headers=auth(tokens["user"])), 413, "request_too_large")

    def chunks():
        for _ in range(settings.max_body_bytes // 1000 + 2):
            yield b"x" * 1000

    # Without Content-Length (chunked) the limit is enforced while reading.
    assert_error(client.post("/api/feedback", content=chunks(), headers={**auth(tokens["user"]),
                                                                          "content-type": "application/json"}),
                 413, "request_too_large")


def test_unhandled_error_is_500_json_logged_and_counted(client, tokens, monkeypatch, log_lines) -> None:
    from app import answers

    def boom(*_args, **_kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(answers, "compute_answer", boom)
    response = client.post("/api/ask", json={"question": "What is berth?"}, headers=auth(tokens["user"]))
    body = assert_error(response, 500, "internal_error")
    assert "kaboom" not in response.text
    records = parse_lines(log_lines)
    crash = [r for r in records if r["message"] == "unhandled error"]
    assert crash and "RuntimeError: kaboom" in crash[0]["exc_info"]
    assert crash[0]["request_id"] == body["request_id"]
    access = [r for r in records if r["message"] == "request" and r["path"] == "/api/ask"]
    assert access[-1]["status"] == 500
    assert 'errors_total{type="unhandled"}' in client.get("/metrics").text


def test_request_id_is_propagated(client) -> None:
    assert client.get("/", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = client.get("/", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
    assert generated != "bad id with spaces" and len(generated) == 32


# --- rate limiting -----------------------------------------------------------------------------

def _limited_client(migrated_pg, redis_url, **limits):
    from fastapi.testclient import TestClient

    from app.main import create_app

    return TestClient(create_app(make_settings(database_url=migrated_pg, redis_url=redis_url, **limits)))


def test_rate_limit_per_minute_returns_429_with_retry_after(migrated_pg, redis_url, tokens) -> None:
    with _limited_client(migrated_pg, redis_url, rate_limit_per_minute=3, rate_limit_per_hour=100) as c:
        before = metric(c.get("/metrics").text, "rate_limited_total")
        statuses = [c.post("/api/ask", json={"question": "What is berth?"}, headers=auth(tokens["user"])).status_code
                    for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = c.post("/api/ask", json={"question": "What is berth?"}, headers=auth(tokens["user"]))
        body = assert_error(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "retry" in body["message"]
        # Probes are never limited.
        assert c.get("/liveness").status_code == 200
        assert metric(c.get("/metrics").text, "rate_limited_total") - before == 2
    # The counters live in Redis, so another replica (a second app) sees the same limit.
    with _limited_client(migrated_pg, redis_url, rate_limit_per_minute=3, rate_limit_per_hour=100) as other:
        assert other.post("/api/ask", json={"question": "x"}, headers=auth(tokens["user"])).status_code == 429


def test_rate_limit_per_hour(migrated_pg, redis_url, tokens) -> None:
    with _limited_client(migrated_pg, redis_url, rate_limit_per_minute=100, rate_limit_per_hour=2) as c:
        codes = [c.post("/api/feedback", json={"question": "q", "rating": 3}, headers=auth(tokens["user"]))
                 for _ in range(3)]
    assert [r.status_code for r in codes] == [201, 201, 429]
    assert int(codes[-1].headers["retry-after"]) > 0


# --- metrics -----------------------------------------------------------------------------------

def test_metrics_use_route_templates(client, tokens) -> None:
    before = client.get("/metrics").text
    client.post("/api/ask", json={"question": "What is berth?"}, headers=auth(tokens["user"]))
    client.post("/api/ask", json={"question": "What is berth?"}, headers=auth(tokens["user"]))
    client.get("/no/such/thing-12345")
    text = client.get("/metrics").text

    def delta(name: str, **labels: str) -> float:
        return metric(text, name, **labels) - metric(before, name, **labels)

    assert delta("api_requests_total", endpoint="/api/ask", method="POST", status="200") == 2
    assert delta("api_request_duration_seconds_count", endpoint="/api/ask", method="POST") == 2
    assert delta("cache_operations_total", operation="hit") == 1
    assert delta("cache_operations_total", operation="miss") == 1
    assert delta("api_requests_total", endpoint="<unmatched>", method="GET", status="404") == 1
    assert "thing-12345" not in text


def test_only_admitted_questions_are_logged_for_the_worker(migrated_pg, redis_url, tokens) -> None:
    with _limited_client(migrated_pg, redis_url, rate_limit_per_minute=1, rate_limit_per_hour=100) as c:
        codes = [c.post("/api/ask", json={"question": q}, headers=auth(tokens["user"])).status_code
                 for q in ("What is berth?", "spam to pre-warm")]
        c.portal.call(c.app.state.questions.flush)
    assert codes == [200, 429]
    assert redis.Redis.from_url(redis_url, decode_responses=True).lrange("questions:recent", 0, -1) == [
        "what is berth"]
