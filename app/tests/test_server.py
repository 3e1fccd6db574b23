"""The production server as the image runs it (gunicorn + uvicorn workers, app/gunicorn_conf.py):
metrics aggregated across worker processes, and SIGTERM letting in-flight requests finish."""

from __future__ import annotations

import signal
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
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        llm.close()


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
