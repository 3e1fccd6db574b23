"""The `local` stack (target docker) as the mock runtime records it."""

import json

from infra import mocks
from infra.plan import as_json

CONTAINER = "docker:index/container:Container"


def containers(run):
    return {r.name: r for r in run.by_type(CONTAINER)}


def env_of(record):
    """The container's env as a dict, and the names whose entries are secrets."""
    env, secret = {}, set()
    envs = record.inputs["envs"]
    whole_list_secret = mocks.is_secret(envs)  # one secret entry makes the SDK mark the whole list
    for entry in envs["value"] if whole_list_secret else envs:
        name, _, value = mocks.unwrap(entry).partition("=")
        env[name] = value
        if whole_list_secret or mocks.is_secret(entry):
            secret.add(name)
    return env, secret


def test_local_declares_database_cache_migrations_and_service(local):
    assert set(containers(local)) == {"postgres", "redis", "migrate", "api", "worker"}
    parents = {r.name: r.parent.rsplit("::", 1)[-1] for r in local.by_type(CONTAINER)}
    assert parents == {"postgres": "database", "redis": "cache", "migrate": "migrations", "api": "api",
                       "worker": "worker"}
    assert all(r.parent for r in local.records), "every resource sits under the stack or a component"


def test_every_container_has_a_health_check_that_fits_its_job(local):
    c = containers(local)
    assert c["postgres"].inputs["healthcheck"]["tests"][0] == "CMD-SHELL"
    assert "pg_isready" in c["postgres"].inputs["healthcheck"]["tests"][1]
    assert "ping" in c["redis"].inputs["healthcheck"]["tests"][1]
    api = c["api"].inputs["healthcheck"]
    assert api["tests"][:2] == ["CMD", "python"] and "http://127.0.0.1:8000/liveness" in api["tests"][3]
    assert int(api["retries"]) == 3 and api["interval"] == "15s"
    # The startup budget of the dev tier (5 s × 24) becomes the start period.
    assert api["startPeriod"] == "120s"
    assert c["migrate"].inputs["healthcheck"]["tests"] == ["NONE"]
    # The image's HEALTHCHECK probes HTTP; a worker serves none, so its check is switched off.
    assert c["worker"].inputs["healthcheck"]["tests"] == ["NONE"]


def test_only_the_web_service_publishes_a_port_and_only_on_loopback(local):
    c = containers(local)
    assert [dict(p) for p in c["api"].inputs["ports"]] == [{"internal": 8000.0, "external": 8080.0, "ip": "127.0.0.1"}]
    for name in ("postgres", "redis", "migrate", "worker"):
        assert not c[name].inputs.get("ports"), f"{name} must not be reachable from the host"
    assert local.outputs["url"] == "http://localhost:8080"


def test_secret_env_values_are_secrets_and_plain_ones_are_not_secrets_in_disguise(local):
    env, secret = env_of(containers(local)["api"])
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= secret
    assert env["DATABASE_URL"].startswith("postgresql://app:mock-database-password-")
    assert env["DATABASE_URL"].endswith("@database:5432/app")
    assert env["REDIS_URL"].startswith("redis://:mock-cache-password-") and env["REDIS_URL"].endswith("@cache:6379/0")
    assert env["SECRET_KEY"].startswith("mock-secret-key-")
    assert env["PORT"] == "8000" and env["ENVIRONMENT"] == "development" and env["LOG_LEVEL"] == "info"
    pg_env, pg_secret = env_of(containers(local)["postgres"])
    assert "POSTGRES_PASSWORD" in pg_secret


def test_no_secret_value_reaches_the_plan_or_the_outputs(local):
    env, _ = env_of(containers(local)["api"])
    plan = json.dumps(as_json(local))
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        assert env[name] and env[name] not in plan
    assert "mock-" not in plan
    assert local.secret_outputs == [] and "mock-" not in json.dumps(local.outputs)


def test_migrations_run_before_the_service_and_after_database_and_cache(local):
    c = containers(local)
    # Depending on a component means depending on its children: the containers themselves.
    assert c["migrate"].urn in c["api"].options["depends_on"]
    assert {c["postgres"].urn, c["redis"].urn} <= set(c["migrate"].options["depends_on"])
    migrate = c["migrate"].inputs
    assert migrate["attach"] is True and migrate["mustRun"] is False
    assert migrate["command"] == ["python", "-m", "app", "migrate"]
    env, secret = env_of(c["migrate"])
    assert {"DATABASE_URL", "SECRET_KEY"} <= secret


def test_worker_runs_its_command_with_the_same_image_env_and_secrets(local):
    c = containers(local)
    assert c["worker"].inputs["command"] == ["python", "-m", "app", "worker"]
    assert c["worker"].inputs["image"] == c["api"].inputs["image"]
    env, secret = env_of(c["worker"])
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= secret and "PORT" not in env
    assert c["migrate"].urn in c["worker"].options["depends_on"]


def test_service_container_is_hardened(local):
    api = containers(local)["api"].inputs
    assert api["user"] == "10001:10001" and api["readOnly"] is True
    assert "/tmp" in api["tmpfs"]
    assert api["capabilities"]["drops"] == ["ALL"]
    assert api["securityOpts"] == ["no-new-privileges:true"]
    assert int(api["memory"]) == 512 and api["wait"] is True


def test_database_keeps_its_data_on_a_volume(local):
    volume = local.one("docker:index/volume:Volume")
    pg = containers(local)["postgres"].inputs
    assert pg["volumes"][0]["containerPath"] == "/var/lib/postgresql/data"
    assert pg["volumes"][0]["volumeName"] == volume.inputs["name"] == "berth-local-database"
    assert pg["image"].startswith("sha256:")
    assert local.one("docker:index/remoteImage:RemoteImage", "postgres").inputs["name"] == "postgres:16-alpine"


def test_app_image_is_built_from_app_and_tagged_by_source_hash(local):
    from infra.config import ROOT
    from infra.source import source_hash

    image = local.one("docker:index/image:Image")
    assert image.inputs["imageName"] == f"berth-local-app:{source_hash(ROOT / 'app')}"
    # Relative to the project directory (pulumi's working directory), so plans do not depend on
    # where the checkout lives.
    assert (image.inputs["build"]["context"], image.inputs["build"]["dockerfile"]) == ("app", "app/Dockerfile")
    assert (ROOT / image.inputs["build"]["dockerfile"]).is_file()
    assert containers(local)["api"].inputs["image"] == image.inputs["imageName"]
