"""Fixtures: real PostgreSQL and Redis (from tools/services.sh), throwaway servers for outage
tests, the app under test, tokens, and a fake OpenAI-compatible endpoint.

Without Postgres/Redis the tests that need them skip with a reason; under CI=true they fail.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.logging import JsonFormatter
from app.core.security import create_token, hash_password

REPO = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("BERTH_TEST_DATABASE_URL", "postgresql://berth:berth@127.0.0.1:5432/berth_test")
REDIS_URL = os.environ.get("BERTH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI") == "true"
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnop"
PASSWORD = "correct horse battery staple"


def require(what: str, reason: str) -> None:
    """Skip locally, fail under CI: there the suite must really talk to both servers."""
    message = f"{what} unavailable ({reason}); run tools/services.sh start"
    if IN_CI:
        pytest.fail(f"CI=true requires {message}", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def with_db(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else "")


# --- shared servers ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def pg_url() -> str:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        require("PostgreSQL", f"{type(exc).__name__}: {exc}".splitlines()[0])
    return PG_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except Exception as exc:
        require("Redis", f"{type(exc).__name__}: {exc}")
    return REDIS_URL


class FreshDatabases:
    """Creates empty databases on the shared cluster and drops them at the end."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url, self.names = admin_url, []

    def create(self) -> str:
        name = f"berth_t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return with_db(self.admin_url, name)

    def drop_all(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in self.names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def fresh_databases(pg_url: str) -> Iterator[FreshDatabases]:
    dbs = FreshDatabases(pg_url)
    yield dbs
    dbs.drop_all()


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "secret_key": TEST_SECRET,
        "rate_limit_per_minute": 1000,
        "rate_limit_per_hour": 10000,
        "health_cache_seconds": 0,
        "openai_api_key": None,
        "allowed_origins": ["https://app.example.test"],
        "app_version": "1.2.3-test",
        "git_sha": "abc1234",
        "build_date": "2026-11-24T00:00:00Z",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def migrated_pg(fresh_databases: FreshDatabases) -> str:
    from app.migrate import run_migrations

    url = fresh_databases.create()
    run_migrations(make_settings(database_url=url))
    return url


# --- the app ----------------------------------------------------------------------------------

class Tokens(dict):
    pass


def add_user(settings: Settings, email: str, role: str) -> str:
    """Insert a user through the app's own model and return a token for it."""
    from sqlalchemy.orm import Session

    from app.db import make_sync_engine
    from app.models import User

    engine = make_sync_engine(settings)
    with Session(engine) as session:
        user = User(email=email, password_hash=hash_password(PASSWORD), role=role, is_active=True)
        session.add(user)
        session.commit()
        token = create_token(user_id=user.id, role=role, secret_key=settings.secret_key, expire_minutes=60)
    engine.dispose()
    return token


def reset_state(database_url: str, redis_url: str | None) -> None:
    from sqlalchemy import create_engine, text

    from app.core.config import sqlalchemy_url

    engine = create_engine(sqlalchemy_url(database_url))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM feedback"))
        conn.execute(text("DELETE FROM users"))
    engine.dispose()
    if redis_url:
        redis.Redis.from_url(redis_url).flushdb()


@pytest.fixture
def settings(migrated_pg: str, redis_url: str) -> Settings:
    reset_state(migrated_pg, redis_url)
    return make_settings(database_url=migrated_pg, redis_url=redis_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    from app.main import create_app

    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def tokens(settings: Settings) -> Tokens:
    return Tokens(admin=add_user(settings, "admin@example.test", "admin"),
                  user=add_user(settings, "user@example.test", "user"))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the app logs during the test, as formatted by its JSON formatter.

    Attached after create_app() has configured logging, so request it after `client`."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter([TEST_SECRET]))
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def parse_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


# --- throwaway servers for outage tests -------------------------------------------------------

class ThrowawayRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="berth-redis-")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_timeout=0.5)
        assert wait_for(lambda: _pings(client), 10), "throwaway redis did not start"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    if shutil.which("redis-server") is None:
        require("redis-server", "not installed")
    server = ThrowawayRedis()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


def _pg_bindir() -> Path | None:
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        if (Path(out) / "initdb").exists():
            return Path(out)
    except (OSError, subprocess.CalledProcessError):
        pass
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


class ThrowawayPostgres:
    """A private cluster (initdb in a temp dir) that the test may stop and start at will."""

    def __init__(self, bindir: Path) -> None:
        self.bindir, self.port = bindir, free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="berth-pg-"))
        self.data = self.dir / "data"
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.prefix, str(self.bindir / tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-o",
                 f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    bindir = _pg_bindir()
    if bindir is None:
        require("PostgreSQL server binaries", "initdb not found")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        require("runuser", "needed to run initdb as the postgres user")
    server = ThrowawayPostgres(bindir)
    server.start()
    yield server
    try:
        server.stop()
    except subprocess.CalledProcessError:
        pass
    shutil.rmtree(server.dir, ignore_errors=True)


# --- a fake OpenAI-compatible endpoint --------------------------------------------------------

class FakeLLM:
    def __init__(self, reply: str = "From the model.", status: int = 200, delay: float = 0.0) -> None:
        self.reply, self.status, self.delay = reply, status, delay
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                time.sleep(fake.delay)
                payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": fake.reply}}]})
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    server = FakeLLM()
    yield server
    server.close()


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items()
                if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ENVIRONMENT"}}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, env=full_env, input=input,
                          capture_output=True, text=True, timeout=timeout)


def metric(text: str, name: str, **labels: str) -> float:
    """Value of one sample in a /metrics exposition (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


# --- the app on a real server, and a cache that hangs -----------------------------------------

class LiveServer:
    """The app under uvicorn in a thread of this process: real sockets and concurrency, while the
    test still reaches the app's state (metrics, logs, the limiter's clock)."""

    def __init__(self, app) -> None:  # noqa: ANN001
        import uvicorn

        self.app, self.port = app, free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None,
                                                    access_log=False, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        assert wait_for(lambda: self.server.started, 15), "uvicorn did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def concurrently(requests: list[tuple[str, str, dict]], base_url: str, timeout: float = 30) -> list:
    """Send every (method, path, kwargs) at once over separate connections; the responses in order."""
    import asyncio

    import httpx

    async def run() -> list:
        limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as http:
            return await asyncio.gather(*(http.request(method, path, **kwargs) for method, path, kwargs in requests))

    return asyncio.run(run())


class HungServer:
    """Accepts TCP connections and never answers: a Redis that hangs (process stopped, sockets open)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.sock.getsockname()[1]}/0"

    @property
    def accepted(self) -> int:
        return len(self.connections)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in the thread
        self.sock.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture
def hung_cache() -> Iterator[HungServer]:
    server = HungServer()
    yield server
    server.close()
