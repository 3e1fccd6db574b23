"""The production server as the image runs it (gunicorn + uvicorn workers, app/gunicorn_conf.py):
metrics aggregated across worker processes, and SIGTERM letting in-flight requests finish."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from app.tests.conftest import REPO, TEST_SECRET, FakeLLM, free_port, metric, run_cli, wait_for


@pytest.fixture
def server(tmp_path):  # noqa: ANN201
    llm = FakeLLM(reply="Slow but complete.", delay=2.0)
    port = free_port()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'srv.db'}", "SECRET_KEY": TEST_SECRET, "PORT": str(port),
           "WEB_CONCURRENCY": "2", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
           "OPENAI_API_KEY": "sk-fake", "OPENAI_BASE_URL": llm.base_url, "RATE_LIMIT_PER_MINUTE": "1000",
           "HOME": str(tmp_path), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    assert run_cli("migrate", env=env).returncode == 0
    token = run_cli("create-user", "--email", "srv@example.test", env={**env, "BERTH_PASSWORD": "server-pass-1"}
                    ).stdout.strip()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--config", "app/gunicorn_conf.py",
                             "app.main:create_app()"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(base + "/readiness", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_for(ready, 30), "gunicorn did not become ready"
        yield proc, base, token
    finally:
        stop_server(proc)
        llm.close()


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM, so the master stops its workers; a SIGKILLed master would leave them running."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_metrics_are_summed_across_worker_processes(server) -> None:
    _proc, base, _token = server
    for _ in range(30):  # a fresh connection each time, so the kernel spreads them over both workers
        assert httpx.get(base + "/version", headers={"Connection": "close"}).status_code == 200
    text = httpx.get(base + "/metrics").text
    assert metric(text, "api_requests_total", method="GET", endpoint="/version", status="200") == 30


def test_sigterm_lets_in_flight_requests_finish(server) -> None:
    proc, base, token = server
    result: dict[str, httpx.Response] = {}

    def slow_request() -> None:
        result["r"] = httpx.post(base + "/api/ask", json={"question": "Explain zebra quantum pancakes"},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=20)

    thread = threading.Thread(target=slow_request)
    thread.start()
    time.sleep(0.8)  # the request is now waiting on the (2 s) model
    proc.send_signal(signal.SIGTERM)
    thread.join(20)
    assert proc.wait(20) == 0
    response = result["r"]
    assert response.status_code == 200
    assert response.json()["answer"] == "Slow but complete." and response.json()["source"] == "llm"
    # And it stopped accepting new connections.
    with pytest.raises(httpx.HTTPError):
        httpx.get(base + "/liveness", timeout=1)


# --- client address and keep-alive, through the production server -----------------------------

@pytest.fixture
def production_server(migrated_pg, redis_url, tmp_path):  # noqa: ANN001, ANN201
    """Start gunicorn as the image does (production settings, one worker) with extra env."""
    from app.tests.conftest import add_user, make_settings, reset_state

    reset_state(migrated_pg, redis_url)
    token = add_user(make_settings(database_url=migrated_pg), "peer@example.test", "user")
    procs: list[subprocess.Popen] = []

    def start(**extra: str) -> tuple[str, str, subprocess.Popen]:
        port = free_port()
        env = {"ENVIRONMENT": "production", "DATABASE_URL": migrated_pg, "REDIS_URL": redis_url,
               "SECRET_KEY": TEST_SECRET, "PORT": str(port), "WEB_CONCURRENCY": "1", "HOME": str(tmp_path),
               "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"prom-{port}"), "GUNICORN_WORKER_TMP_DIR": str(tmp_path),
               "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", **extra}
        proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--config", "app/gunicorn_conf.py",
                                 "app.main:create_app()"], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(base + "/liveness", timeout=1).status_code == 200
            except httpx.HTTPError:
                return proc.poll() is not None

        assert wait_for(ready, 30) and proc.poll() is None, "gunicorn did not start"
        return base, token, proc

    yield start
    for proc in procs:
        stop_server(proc)


def _rate_limit_clients(redis_url: str) -> set[str]:
    import redis

    keys = redis.Redis.from_url(redis_url, decode_responses=True).keys("rl:*:60")
    return {key.split("{", 1)[1].rsplit("}", 1)[0] for key in keys}


def _ask(base: str, token: str, forwarded_for: str) -> httpx.Response:
    return httpx.post(base + "/api/ask", json={"question": "What is berth?"}, timeout=10,
                      headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": forwarded_for})


def test_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(production_server, redis_url) -> None:
    # The proxies are elsewhere (the VPC's range); this test's client, 127.0.0.1, is not one of them.
    base, token, proc = production_server(FORWARDED_ALLOW_IPS="10.0.0.0/16", RATE_LIMIT_PER_MINUTE="2",
                                          LOG_LEVEL="INFO")
    codes = [_ask(base, token, f"203.0.113.{i}").status_code for i in range(1, 4)]
    proc.terminate()
    proc.wait(30)
    # A fresh address per request bought no fresh budget: the key is the real peer.
    assert codes == [200, 200, 429]
    assert _rate_limit_clients(redis_url) == {"127.0.0.1"}
    logged = [json.loads(line) for line in proc.stderr.read().splitlines() if line.startswith("{")]
    assert {r["client"] for r in logged if r.get("path") == "/api/ask"} == {"127.0.0.1"}


def test_a_trusted_proxy_names_the_right_most_untrusted_address(production_server, redis_url) -> None:
    # 127.0.0.0/8 stands for the load balancer's range: the peer is trusted, and so is a proxy hop
    # inside the range; the client wrote the left-most entry itself.
    base, token, _proc = production_server(FORWARDED_ALLOW_IPS="127.0.0.0/8,10.0.0.0/16")
    assert _ask(base, token, "6.6.6.6, 198.51.100.7").status_code == 200
    assert _ask(base, token, "6.6.6.6, 198.51.100.8, 10.0.3.4").status_code == 200
    assert _rate_limit_clients(redis_url) == {"198.51.100.7", "198.51.100.8"}


def test_production_server_refuses_to_trust_every_proxy(tmp_path) -> None:
    env = {"ENVIRONMENT": "production", "DATABASE_URL": "postgresql://u:p@db/app", "REDIS_URL": "redis://cache:6379/0",
           "SECRET_KEY": TEST_SECRET, "FORWARDED_ALLOW_IPS": "*", "HOME": str(tmp_path),
           "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    result = subprocess.run([str(Path(sys.executable).parent / "gunicorn"), "--config", "app/gunicorn_conf.py",
                             "app.main:create_app()"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: invalid configuration: FORWARDED_ALLOW_IPS must list the proxies' addresses or CIDR ranges, "
        "not '*', when ENVIRONMENT=production (with '*' any client picks its own address and rate-limit budget)"]
    assert TEST_SECRET not in result.stderr


def _exchange(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /liveness HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while not data.endswith(b'{"status":"alive"}'):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_server_keeps_an_idle_connection_for_keepalive_seconds(production_server) -> None:
    base, _token, _proc = production_server(KEEPALIVE_SECONDS="7")
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        assert _exchange(sock).startswith(b"HTTP/1.1 200")
        time.sleep(6)  # idle longer than the servers' own default (5 s), within KEEPALIVE_SECONDS
        assert _exchange(sock).startswith(b"HTTP/1.1 200")
        sock.settimeout(20)
        assert sock.recv(1) == b""  # then the server closes the idle connection


@pytest.mark.parametrize("env, expected", [({}, 75), ({"KEEPALIVE_SECONDS": "120"}, 120)])
def test_gunicorn_keepalive_comes_from_keepalive_seconds(monkeypatch, env: dict, expected: int) -> None:
    import runpy

    monkeypatch.delenv("KEEPALIVE_SECONDS", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert runpy.run_path(str(REPO / "app" / "gunicorn_conf.py"))["keepalive"] == expected
