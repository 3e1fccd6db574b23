"""Benchmark of the berth service under its production server (not a test).

    .venv/bin/python bench/app.py [--requests 3000] [--concurrency 16] [--seconds 15]

Starts gunicorn + uvicorn workers exactly as the image does (app/gunicorn_conf.py, 2 workers)
against the real PostgreSQL and Redis from tools/services.sh (a fresh `berth_bench` database,
Redis db 14), then drives load from a second process on loopback only. For each of
/liveness, /readiness and POST /api/ask (cache hit) it prints requests/s, p50 and p99, each
also as a ratio to a bare ASGI hello-world served the same way in the same run; and the time
from process start to the first 200 on /readiness. Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("BERTH_BENCH_DATABASE_URL", "postgresql://berth:berth@127.0.0.1:5432/berth_test")
REDIS_URL = os.environ.get("BERTH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
HELLO = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"17")]})
    await send({"type": "http.response.body", "body": b'{"hello":"world"}'})
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(target: str, env: dict[str, str], extra_path: str | None = None) -> subprocess.Popen:
    cmd = [str(BIN / "gunicorn"), "--config", "app/gunicorn_conf.py", target]
    if extra_path:
        cmd[1:1] = ["--pythonpath", extra_path]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_first_200(url: str, started: float, timeout: float = 60) -> float:
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.01)
    raise SystemExit(f"no 200 from {url} within {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- load generator (runs in its own process) -------------------------------------------------

async def _connection(port: int, request: bytes, deadline: float, budget: list[int], latencies: list[float],
                      statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            t0 = time.perf_counter()
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
                elif line.lower().startswith(b"transfer-encoding:"):
                    raise RuntimeError("chunked responses are not supported by this load generator")
            await asyncio.wait_for(reader.readexactly(length), 10)
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _drive(port: int, request: bytes, count: int, concurrency: int, seconds: float) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    budget = [count]
    start = time.perf_counter()
    await asyncio.gather(*(_connection(port, request, start + seconds, budget, latencies, statuses)
                           for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {"n": len(latencies), "rps": len(latencies) / elapsed, "statuses": statuses,
            "p50": statistics.median(latencies) * 1000,
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000}


def _loader(port: int, request: bytes, count: int, concurrency: int, seconds: float, out: mp.Queue) -> None:
    asyncio.run(_drive(port, request, min(200, count), concurrency, seconds))  # warm-up
    out.put(asyncio.run(_drive(port, request, count, concurrency, seconds)))


def load(port: int, request: bytes, args: argparse.Namespace) -> dict:
    out: mp.Queue = mp.Queue()
    proc = mp.Process(target=_loader, args=(port, request, args.requests, args.concurrency, args.seconds, out))
    proc.start()
    result = out.get(timeout=args.seconds * 2 + 60)
    proc.join(30)
    return result


def http_request(method: str, path: str, body: dict | None = None, token: str | None = None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    headers = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(payload)}"]
    if body is not None:
        headers.append("Content-Type: application/json")
    if token:
        headers.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + payload


# --- main -------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="requests per scenario (bounded)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15, help="time cap per scenario")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    import psycopg
    import redis

    base, _, _ = PG_URL.rpartition("/")
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS berth_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE berth_bench")
    redis.Redis.from_url(REDIS_URL).flushdb()
    tmp = Path(tempfile.mkdtemp(prefix="berth-bench-"))
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp), "DATABASE_URL": f"{base}/berth_bench",
           "REDIS_URL": REDIS_URL, "SECRET_KEY": "bench-secret-key-0123456789abcdefghijkl",
           "ENVIRONMENT": "production", "LOG_LEVEL": "WARNING", "WEB_CONCURRENCY": str(args.workers),
           "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prom"),
           # One loopback client would otherwise be rate limited after 10 requests.
           "RATE_LIMIT_PER_MINUTE": "100000000", "RATE_LIMIT_PER_HOUR": "100000000"}
    run = lambda *a, **kw: subprocess.run([sys.executable, "-m", "app", *a], cwd=REPO, check=True,  # noqa: E731
                                          capture_output=True, text=True, **kw)
    run("migrate", env=env)
    token = run("create-user", "--email", "bench@example.test", env={**env, "BERTH_PASSWORD": "bench-password"}
                ).stdout.strip()

    (tmp / "hello_asgi.py").write_text(HELLO)
    hello_port = free_port()
    hello = start_server("hello_asgi:app", {**env, "PORT": str(hello_port)}, extra_path=str(tmp))
    try:
        wait_first_200(f"http://127.0.0.1:{hello_port}/", time.perf_counter())
        baseline = load(hello_port, http_request("GET", "/"), args)
    finally:
        stop(hello)

    port = free_port()
    started = time.perf_counter()
    service = start_server("app.main:create_app()", {**env, "PORT": str(port)})
    try:
        startup = wait_first_200(f"http://127.0.0.1:{port}/readiness", started)
        ask = http_request("POST", "/api/ask", {"question": "What is berth?"}, token)
        warm = urllib.request.Request(f"http://127.0.0.1:{port}/api/ask", method="POST",
                                      data=b'{"question": "What is berth?"}',
                                      headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        assert json.load(urllib.request.urlopen(warm))["source"] == "faq"
        results = {
            "GET /liveness": load(port, http_request("GET", "/liveness"), args),
            "GET /readiness": load(port, http_request("GET", "/readiness"), args),
            "POST /api/ask (cache hit)": load(port, ask, args),
        }
    finally:
        stop(service)

    print(f"berth bench: gunicorn + {args.workers} uvicorn workers, {os.cpu_count()} cores, "
          f"concurrency {args.concurrency}, <= {args.requests} requests or {args.seconds:g} s per scenario")
    print(f"{'scenario':28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'rps/hello':>10} {'p50/hello':>10} "
          f"{'p99/hello':>10}  statuses")
    rows = {"hello-world ASGI (baseline)": baseline, **results}
    for name, r in rows.items():
        print(f"{name:28} {r['rps']:8.0f} {r['p50']:8.2f} {r['p99']:8.2f} {r['rps'] / baseline['rps']:10.2f} "
              f"{r['p50'] / baseline['p50']:10.2f} {r['p99'] / baseline['p99']:10.2f}  {r['statuses']}")
    print(f"process start -> first 200 on /readiness: {startup:.2f} s")


if __name__ == "__main__":
    main()
