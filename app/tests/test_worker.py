"""`python -m app worker`: warms the cache for the most asked questions, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys

import redis

from app import answers
from app.tests.conftest import REPO, wait_for
from app.worker import Worker


def test_run_once_warms_most_asked_uncached_questions(settings) -> None:
    r = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    for q in ["what is berth"] * 3 + ["how do i leave feedback on an answer"] * 2 + ["rare zebra question"]:
        r.lpush(answers.RECENT_QUESTIONS_KEY, q)


    async def two_rounds() -> list[int]:
        worker = Worker(settings, top=2)
        try:
            return [await worker.run_once(), await worker.run_once()]
        finally:
            await worker.close()

    # The second round finds both already warm.
    assert asyncio.run(two_rounds()) == [2, 0]
    assert json.loads(r.get(answers.cache_key("What is berth?")))["source"] == "faq"
    assert json.loads(r.get(answers.cache_key("how do I leave feedback on an answer")))["source"] == "faq"
    assert r.get(answers.cache_key("rare zebra question")) is None


def test_worker_process_warms_then_stops_gracefully_on_sigterm(settings) -> None:
    r = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    r.lpush(answers.RECENT_QUESTIONS_KEY, "where can i see the service version")
    env = {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "SECRET_KEY": settings.secret_key, "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([sys.executable, "-m", "app", "worker", "--interval", "0.2"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        key = answers.cache_key("Where can I see the service version?")
        assert wait_for(lambda: r.get(key) is not None, 20), "worker never warmed the cache"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read()
    messages = [json.loads(line)["message"] for line in err.splitlines() if line.startswith("{")]
    assert "worker stopping" in messages and messages[-1] == "worker stopped"
    assert settings.secret_key not in err


def test_worker_requires_redis(tmp_path) -> None:
    from app.tests.conftest import run_cli

    result = run_cli("worker", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}"})
    assert result.returncode == 2 and "REDIS_URL" in result.stderr
