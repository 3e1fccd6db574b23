"""JSON logs: one line per request, PII masked, secrets and tokens never written."""

from __future__ import annotations

import io
import json
import logging

from fastapi.testclient import TestClient

from app.core.logging import JsonFormatter, configure_logging
from app.main import create_app
from app.tests.conftest import PASSWORD, TEST_SECRET, auth, make_settings, parse_lines, run_cli


def format_line(message: str, **extra: object) -> dict:
    record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "levelno": 20, "msg": message, **extra})
    return json.loads(JsonFormatter(["super-secret-value-1234567890"]).format(record))


def test_pii_is_masked_in_messages_and_extra_fields() -> None:
    line = format_line("user jane.doe+x@corp.example called +44 20 7946 0958 and (555) 123-4567 about EMP-123456",
                       note="mail bob@example.org, phone 07700900123, emp emp-0042")
    assert line["message"] == "user [email] called [phone] and [phone] about EMP-[redacted]"
    assert line["note"] == "mail [email], phone [phone], emp EMP-[redacted]"


def test_secrets_and_tokens_are_masked() -> None:
    line = format_line("key=super-secret-value-1234567890 auth=Bearer abc.def.ghi jwt eyJhbGciOi.eyJzdWIi.c2ln")
    assert "super-secret-value" not in json.dumps(line)
    assert line["message"] == "key=[secret] auth=Bearer [token] jwt [token]"


def test_ordinary_numbers_are_left_alone() -> None:
    line = format_line("listening on 0.0.0.0:8000 (pid 31337) at 2026-11-24, took 12.5 ms, version 1.2.3")
    assert line["message"] == "listening on 0.0.0.0:8000 (pid 31337) at 2026-11-24, took 12.5 ms, version 1.2.3"


def test_one_json_line_per_request_with_latency_status_and_id(tmp_path) -> None:
    stream = io.StringIO()
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", redis_url=None)
    app = create_app(settings)
    configure_logging("INFO", settings.secrets, stream=stream)
    with TestClient(app) as c:
        c.get("/version", headers={"X-Request-ID": "req-42"})
        c.get("/users/jane@corp.example/EMP-654321")
        c.get("/liveness")  # probes that succeed stay out of INFO logs
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    requests = [line for line in lines if line["message"] == "request"]
    assert [r["path"] for r in requests] == ["/version", "/users/[email]/EMP-[redacted]"]
    first = requests[0]
    assert first["request_id"] == "req-42" and first["status"] == 200 and first["method"] == "GET"
    assert isinstance(first["latency_ms"], float) and first["endpoint"] == "/version"
    assert requests[1]["status"] == 404


def test_secrets_passwords_tokens_never_reach_logs(client, tokens, log_lines, settings) -> None:
    login = client.post("/api/login", json={"email": "user@example.test", "password": PASSWORD})
    token = login.json()["access_token"]
    client.post("/api/ask", json={"question": "Call me at +1 555 123 4567, I am EMP-123456"},
                headers=auth(token))
    client.post("/api/login", json={"email": "user@example.test", "password": "wrong " + PASSWORD})
    client.get("/api/feedback/detailed", headers=auth(tokens["user"]))
    client.post("/api/ask", json={"question": "q"}, headers=auth("not-a-jwt-" + TEST_SECRET))
    text = log_lines.getvalue()
    assert len(parse_lines(log_lines)) >= 5
    for forbidden in (TEST_SECRET, PASSWORD, token, tokens["user"], tokens["admin"], "555 123 4567", "EMP-123456"):
        assert forbidden not in text


def test_cli_create_user_keeps_password_out_of_output(tmp_path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "SECRET_KEY": TEST_SECRET, "LOG_LEVEL": "DEBUG"}
    assert run_cli("migrate", env=env).returncode == 0
    result = run_cli("create-user", "--email", "ops@example.test", "--role", "admin",
                     env={**env, "BERTH_PASSWORD": "hunter2-hunter2"})
    assert result.returncode == 0, result.stderr
    assert "hunter2-hunter2" not in result.stdout + result.stderr
    assert TEST_SECRET not in result.stderr
    assert "ops@example.test" not in result.stderr
