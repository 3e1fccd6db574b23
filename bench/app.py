"""Benchmark of the berth service under its production server (not a test).

    .venv/bin/python bench/app.py [--workers 4] [--concurrency 64] [--seconds 5] [--loaders 2] [--rounds 2]

Starts gunicorn + uvicorn workers exactly as the image does (app/gunicorn_conf.py, production
settings) against the PostgreSQL from tools/services.sh (a fresh `berth_bench` database) and a
redis-server of its own (so stopping it disturbs nobody), then drives load from separate
processes over loopback only. Every loop is bounded in time.

Printed, from one run: req/s, p50 and p99 of a bare ASGI hello-world served the same way (and,
for the framework's own share, a bare FastAPI app with one /liveness route), /liveness, /readiness and cache-hit POST /api/ask, each as a ratio to the issue's reference
(liveness to hello-world; readiness and ask to liveness) and p99/p50; a burst of 10 x the pool
size per worker of POST /api/feedback (a database write each) with its 5xx count; cache-hit
/api/ask again with Redis stopped (SIGSTOP: it accepts and never answers) a third of the way
in, with its p99 change and failures; and the time from process start to the first 200 on
/readiness.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
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
POOL_SIZE = 10  # DB_POOL_SIZE, the service's default
HELLO = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"17")]})
    await send({"type": "http.response.body", "body": b'{"hello":"world"}'})
'''
# The framework's own floor: FastAPI with one async route and nothing else.
FASTAPI_LIVENESS = '''
from fastapi import FastAPI

app = FastAPI()


@app.get("/liveness")
async def liveness():
    return {"status": "alive"}
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


def wait_first_200(url: str, started: float, timeout: float = 90) -> float:
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
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_redis(directory: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(directory)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("bench redis-server did not start")


# --- load generator (runs in its own processes) -----------------------------------------------

async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
        elif line.lower().startswith(b"transfer-encoding:"):
            raise RuntimeError("chunked responses are not supported by this load generator")
    await asyncio.wait_for(reader.readexactly(length), 30)
    return int(head.split(b" ", 2)[1])


async def _connection(port: int, request: bytes, measure_from: float, deadline: float,
                      latencies: list[float], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (t0 := time.perf_counter()) < deadline:
            status = await _exchange(reader, writer, request)
            if t0 >= measure_from:
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
    except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
        statuses[0] = statuses.get(0, 0) + 1  # a failed connection counts as a failure
    finally:
        writer.close()


async def _drive(port: int, request: bytes, connections: int, warmup: float, seconds: float) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    await asyncio.gather(*(_connection(port, request, start + warmup, start + warmup + seconds, latencies,
                                       statuses) for _ in range(connections)))
    return {"latencies": latencies, "statuses": statuses}


def _loader(port: int, request: bytes, connections: int, warmup: float, seconds: float, out: mp.Queue) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    out.put(asyncio.run(_drive(port, request, connections, warmup, seconds)))


def best(port: int, request: bytes, args: argparse.Namespace) -> dict:
    """The best of args.rounds runs: other work on a shared machine only ever slows a run down."""
    return max((load(port, request, args) for _ in range(args.rounds)), key=lambda r: r["rps"])


def load(port: int, request: bytes, args: argparse.Namespace, during=None) -> dict:  # noqa: ANN001
    """Drive `request` from args.loaders processes; `during(elapsed_fraction)` may act mid-run."""
    out: mp.Queue = mp.Queue()
    shares = [args.concurrency // args.loaders + (i < args.concurrency % args.loaders) for i in range(args.loaders)]
    procs = [mp.Process(target=_loader, args=(port, request, n, args.warmup, args.seconds, out)) for n in shares]
    for proc in procs:
        proc.start()
    if during is not None:
        time.sleep(args.warmup + args.seconds / 3)
        during()
    parts = [out.get(timeout=args.warmup + args.seconds + 120) for _ in procs]
    for proc in procs:
        proc.join(30)
    latencies = sorted(x for part in parts for x in part["latencies"])
    statuses: dict[int, int] = {}
    for part in parts:
        for status, count in part["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    return {"rps": len(latencies) / args.seconds, "statuses": statuses,
            "p50": statistics.median(latencies) * 1000,
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000}


async def _burst(port: int, request: bytes, count: int) -> dict[int, int]:
    async def one() -> int:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                return await _exchange(reader, writer, request)
            finally:
                writer.close()
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            return 0

    statuses: dict[int, int] = {}
    for status in await asyncio.gather(*(one() for _ in range(count))):
        statuses[status] = statuses.get(status, 0) + 1
    return statuses


def http_request(method: str, path: str, body: dict | None = None, token: str | None = None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    headers = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(payload)}"]
    if body is not None:
        headers.append("Content-Type: application/json")
    if token:
        headers.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + payload


# --- main -------------------------------------------------------------------------------------

def row(name: str, r: dict, reference: tuple[str, dict] | None, goal: float | None) -> str:
    ratio = f"{r['rps'] / reference[1]['rps']:5.2f}x {reference[0]}" if reference else ""
    verdict = "" if goal is None else ("  goal >= %.1fx: %s" % (goal, "met" if r["rps"] / reference[1]["rps"] >= goal
                                                               else "NOT met"))
    tail = r["p99"] / r["p50"]
    return (f"{name:30} {r['rps']:8.0f} {r['p50']:8.2f} {r['p99']:8.2f} {tail:8.1f}{'' if tail <= 5 else '!':1} "
            f"{ratio:16}{verdict}  {dict(sorted(r['statuses'].items()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5, help="measured time per scenario")
    parser.add_argument("--warmup", type=float, default=1, help="unmeasured time before each scenario")
    parser.add_argument("--loaders", type=int, default=2, help="load generator processes")
    parser.add_argument("--rounds", type=int, default=2, help="runs per scenario; the best is printed")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        raise SystemExit("bench needs redis-server (apt-get install -y redis-server)")

    import psycopg

    base, _, _ = PG_URL.rpartition("/")
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS berth_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE berth_bench")
    tmp = Path(tempfile.mkdtemp(prefix="berth-bench-"))
    redis_proc, redis_port = start_redis(tmp)
    try:
        env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp), "DATABASE_URL": f"{base}/berth_bench",
               "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "ENVIRONMENT": "production",
               "SECRET_KEY": "bench-secret-key-0123456789abcdefghijkl", "LOG_LEVEL": "WARNING",
               "WEB_CONCURRENCY": str(args.workers), "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prom"),
               "GUNICORN_WORKER_TMP_DIR": str(tmp), "DB_POOL_SIZE": str(POOL_SIZE),
               # One loopback client would otherwise be rate limited after 10 requests.
               "RATE_LIMIT_PER_MINUTE": "100000000", "RATE_LIMIT_PER_HOUR": "100000000"}
        run = lambda *a, **kw: subprocess.run([sys.executable, "-m", "app", *a], cwd=REPO, check=True,  # noqa: E731
                                              capture_output=True, text=True, **kw)
        run("migrate", env=env)
        token = run("create-user", "--email", "bench@example.test",
                    env={**env, "BERTH_PASSWORD": "bench-password"}).stdout.strip()

        (tmp / "hello_asgi.py").write_text(HELLO)
        (tmp / "fastapi_liveness.py").write_text(FASTAPI_LIVENESS)
        floors = {}
        for target, path in (("hello_asgi:app", "/"), ("fastapi_liveness:app", "/liveness")):
            floor_port = free_port()
            floor = start_server(target, {**env, "PORT": str(floor_port)}, extra_path=str(tmp))
            try:
                wait_first_200(f"http://127.0.0.1:{floor_port}{path}", time.perf_counter())
                floors[target] = best(floor_port, http_request("GET", path), args)
            finally:
                stop(floor)
        hello_world = floors["hello_asgi:app"]

        port = free_port()
        started = time.perf_counter()
        service = start_server("app.main:create_app()", {**env, "PORT": str(port)})
        try:
            startup = wait_first_200(f"http://127.0.0.1:{port}/readiness", started)
            ask = http_request("POST", "/api/ask", {"question": "What is berth?"}, token)
            warm = urllib.request.Request(f"http://127.0.0.1:{port}/api/ask", method="POST",
                                          data=b'{"question": "What is berth?"}',
                                          headers={"Authorization": f"Bearer {token}",
                                                   "Content-Type": "application/json"})
            assert json.load(urllib.request.urlopen(warm))["source"] == "faq"
            liveness = best(port, http_request("GET", "/liveness"), args)
            readiness = best(port, http_request("GET", "/readiness"), args)
            ask_hit = best(port, ask, args)
            burst_size = 10 * POOL_SIZE * args.workers
            feedback = http_request("POST", "/api/feedback", {"question": "burst", "rating": 3}, token)
            burst = asyncio.run(_burst(port, feedback, burst_size))
            hung = load(port, ask, args, during=lambda: redis_proc.send_signal(signal.SIGSTOP))
            redis_proc.send_signal(signal.SIGCONT)
        finally:
            stop(service)
    finally:
        redis_proc.send_signal(signal.SIGCONT)
        stop(redis_proc)
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"berth bench: gunicorn + {args.workers} uvicorn workers, {os.cpu_count()} cores, "
          f"concurrency {args.concurrency} from {args.loaders} loader processes, best of {args.rounds} runs of "
          f"{args.seconds:g} s per scenario after {args.warmup:g} s warm-up")
    print(f"{'scenario':30} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'p99/p50':>8}  {'ratio':16}")
    print(row("hello-world ASGI", hello_world, None, None))
    print(row("bare FastAPI /liveness", floors["fastapi_liveness:app"], ("hello", hello_world), None))
    print(row("GET /liveness", liveness, ("hello", hello_world), 0.5))
    print(row("GET /readiness (cached)", readiness, ("liveness", liveness), 0.8))
    print(row("POST /api/ask (cache hit)", ask_hit, ("liveness", liveness), 0.5))
    print("(! marks p99 > 5 x p50)")
    errors_5xx = sum(n for status, n in burst.items() if status >= 500 or status == 0)
    print(f"burst: {burst_size} concurrent POST /api/feedback (10 x pool {POOL_SIZE} x {args.workers} workers): "
          f"{errors_5xx} x 5xx or failed  {dict(sorted(burst.items()))}")
    failed = sum(n for status, n in hung["statuses"].items() if status != 200)
    print(f"Redis stopped (SIGSTOP) a third into cache-hit POST /api/ask: p99 {hung['p99']:.2f} ms "
          f"({hung['p99'] - ask_hit['p99']:+.2f} ms vs Redis up; goal <= +250 ms), {hung['rps']:.0f} req/s, "
          f"{failed} not 200  {dict(sorted(hung['statuses'].items()))}")
    print(f"process start -> first 200 on /readiness: {startup:.2f} s")


if __name__ == "__main__":
    main()
