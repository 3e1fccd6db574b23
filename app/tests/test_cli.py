"""`python -m app create-user` / `token`: tokens that the API accepts; passwords never via argv."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.main import create_app
from app.tests.conftest import TEST_SECRET, auth, make_settings, run_cli


def _env(tmp_path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "SECRET_KEY": TEST_SECRET}


def test_create_user_prints_a_token_the_api_accepts(tmp_path) -> None:
    env = _env(tmp_path)
    assert run_cli("migrate", env=env).returncode == 0
    admin = run_cli("create-user", "--email", "Boss@Example.test", "--role", "admin",
                    env={**env, "BERTH_PASSWORD": "a-long-password"})
    assert admin.returncode == 0, admin.stderr
    # Password from stdin when the environment does not carry it.
    user = run_cli("create-user", "--email", "pat@example.test", "--role", "user", env=env,
                   input="another-password\n")
    assert user.returncode == 0, user.stderr
    admin_token, user_token = admin.stdout.strip(), user.stdout.strip()

    with TestClient(create_app(make_settings(database_url=env["DATABASE_URL"], redis_url=None))) as c:
        assert c.get("/api/feedback/detailed", headers=auth(admin_token)).status_code == 200
        assert c.get("/api/feedback/detailed", headers=auth(user_token)).status_code == 403
        login = c.post("/api/login", json={"email": "pat@example.test", "password": "another-password"})
        assert login.status_code == 200

    again = run_cli("token", "--email", "boss@example.test", env=env)
    assert again.returncode == 0
    with TestClient(create_app(make_settings(database_url=env["DATABASE_URL"], redis_url=None))) as c:
        assert c.get("/api/feedback/detailed", headers=auth(again.stdout.strip())).status_code == 200


def test_create_user_rejects_bad_input(tmp_path) -> None:
    env = _env(tmp_path)
    assert run_cli("migrate", env=env).returncode == 0
    short = run_cli("create-user", "--email", "a@example.test", env=env, input="short\n")
    assert short.returncode != 0 and "at least 8" in short.stderr
    ok = run_cli("create-user", "--email", "a@example.test", env={**env, "BERTH_PASSWORD": "long-enough-1"})
    assert ok.returncode == 0
    dup = run_cli("create-user", "--email", "a@example.test", env={**env, "BERTH_PASSWORD": "long-enough-1"})
    assert dup.returncode == 1 and "already exists" in dup.stderr and dup.stdout == ""
    bad_role = run_cli("create-user", "--email", "b@example.test", "--role", "root", env=env)
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr
    missing = run_cli("token", "--email", "nobody@example.test", env=env)
    assert missing.returncode == 1 and missing.stdout == ""
