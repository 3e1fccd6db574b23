"""The kubernetes target under other configs: several services of each kind by config alone,
external Postgres and Redis, a pinned image, the longest names config accepts, and bad config
refused with one clear Problem before any resource."""

from __future__ import annotations

import pytest

from infra.mocks import run_program, unwrap
from tests.conftest import assert_refused_at
from tests.k8s import (CLUSTER, DEPLOYMENT, INGRESS, JOB, PDB, RULE, SECRET, SERVICE, STATEFULSET, TWO_AND_TWO,
                       config, container, of, pod)
from tests.target_hooks import kubernetes as hook

DIGEST = "ghcr.io/example/berth@sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def two_and_two():
    return run_program("k8s-prod", config("k8s-prod", services=TWO_AND_TWO))


def test_two_web_services_and_two_workers_by_config_alone(two_and_two):
    run = two_and_two
    assert len({r.urn for r in run.records}) == len(run.records)  # the engine's URNs, all distinct
    deployments = {r.parent.rsplit("::", 1)[-1] for r in run.by_type(DEPLOYMENT)}
    assert deployments == set(TWO_AND_TWO)
    rules = run.one(INGRESS).inputs["spec"]["rules"]
    assert [(r["http"]["paths"][0]["path"], r["http"]["paths"][0]["backend"]["service"]["name"]) for r in rules] == [
        ("/", "berth-k8s-prod-api"), ("/admin", "berth-k8s-prod-admin")]
    assert hook.routed(run) == {"api", "admin"}  # an Ingress rule per web service, none for a worker
    assert {r.parent.rsplit("::", 1)[-1] for r in run.by_type(SERVICE)} == {"api", "admin", "cache"}
    assert of(run, SERVICE, "admin").inputs["spec"]["ports"][0]["port"] == 8001
    assert container(run, "mailer")["resources"]["limits"] == {"cpu": "500m", "memory": "1024Mi"}
    alerts = {r["alert"] for r in run.one(RULE).inputs["spec"]["groups"][0]["rules"]}
    for name, svc in TWO_AND_TWO.items():
        kinds = {"unhealthy", "no-replicas", "cpu", "memory"} | (
            {"error-rate", "p95-latency", "down"} if svc["kind"] == "web" else set())
        assert {f"{name}-{k}" for k in kinds} <= alerts, name
        assert not ({f"{name}-error-rate", f"{name}-down"} & alerts) or svc["kind"] == "web"
    assert len({r.parent for r in run.by_type(PDB)}) == 4


def test_external_database_and_cache_come_from_pulumi_secrets():
    run = run_program("k8s-dev", config(
        "k8s-dev", secrets=["EXTERNAL_DATABASE_URL", "EXTERNAL_REDIS_URL"],
        EXTERNAL_DATABASE_URL={"secure": "v1:db"}, EXTERNAL_REDIS_URL={"secure": "v1:cache"},
        kubernetes={"context": "kind-berth", "registry": "localhost:5001", "postgres": "external", "redis": "external"}))
    assert not run.by_type(CLUSTER) and not run.by_type(STATEFULSET)
    [secret] = run.by_type(SECRET)
    values = unwrap(secret.inputs["stringData"])
    assert set(values) == {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}  # under the names the app reads
    assert values["DATABASE_URL"].startswith("mock-secret-external_database_url-")
    assert values["REDIS_URL"].startswith("mock-secret-external_redis_url-")
    env = {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in container(run, "api")["env"] if "valueFrom" in e}
    assert env == {"SECRET_KEY": "SECRET_KEY", "DATABASE_URL": "DATABASE_URL", "REDIS_URL": "REDIS_URL"}
    # The external URLs say how to connect: no CA of the in-cluster servers, no libpq TLS defaults.
    assert not {"PGSSLMODE", "PGSSLROOTCERT"} & {e["name"] for e in container(run, "api")["env"]}
    assert [v["name"] for v in pod(run, "api")["volumes"]] == ["tmp"]
    assert run.one(JOB)  # migrations still run, against the external database


def test_no_domain_in_dev_serves_plain_http_on_any_host():
    run = run_program("k8s-dev", config("k8s-dev", domain=None))
    assert [r.name for r in run.by_type("kubernetes:cert-manager.io/v1:Certificate")] == ["ca", "redis"]  # Redis's own
    ingress = run.one(INGRESS).inputs
    assert "tls" not in ingress["spec"] and all("host" not in r for r in ingress["spec"]["rules"])
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "false"
    assert run.outputs["url"] is None  # the controller's address, once it has one


def job_name(image_ref: str) -> str:
    run = run_program("k8s-dev", config("k8s-dev", image={"ref": image_ref}))
    assert not run.by_type("docker:index/image:Image") and container(run, "api")["image"] == image_ref
    return run.one(JOB).inputs["metadata"]["name"]


def test_a_new_image_is_a_new_migrations_job_and_the_same_image_the_same_one():
    first, again = job_name(DIGEST), job_name(DIGEST)
    other = job_name(DIGEST.replace("ab" * 32, "cd" * 32))
    assert first == again and first != other


def test_longest_stack_and_service_names_give_valid_names():
    stack = "k8s-" + "x" * 17  # berth-k8s-xxxxxxxxxxxxxxxxx: the 27-character limit
    services = {"a" * 24: {"kind": "web"}, "b" * 24: {"kind": "worker"}}
    run = run_program(stack, config("k8s-prod", services=services))  # the engine checks every name
    assert len(f"berth-{stack}") == 27
    names = [r.inputs["metadata"]["name"] for r in run.records
             if r.type.startswith("kubernetes:") and "name" in r.inputs.get("metadata", {})]
    assert max(len(n) for n in names) == 27 + 1 + 24
    assert hook.routed(run) == {"a" * 24}


BAD = [
    ("k8s-dev", {"kubernetes": {"context": "kind-berth"}}, "kubernetes.registry", "a registry to push the image"),
    # Names CloudNativePG derives from the Cluster's, and the stack's own NetworkPolicy's.
    ("k8s-dev", {"services": {"postgres-rw": {"kind": "web"}}}, "services.postgres-rw", "name other than"),
    ("k8s-dev", {"services": {"default-deny": {"kind": "worker"}}}, "services.default-deny", "name other than"),
    ("k8s-dev", {"service_defaults": {"scaling": {"min": 0}}}, "services.api.scaling.min", "minReplicas"),
    ("k8s-prod", {"domain": None}, "domain", "TLS only"),
    ("k8s-prod", {"kubernetes": {"registry": "ghcr.io/example/berth"}}, "kubernetes.backup_destination",
     "an object store path"),
    ("k8s-dev", {"kubernetes": {"registry": "localhost:5001", "postgres": "external"}}, "secrets",
     "EXTERNAL_DATABASE_URL listed"),
    ("k8s-dev", {"kubernetes": {"registry": "localhost:5001", "ingress_pod_cidrs": ["10.244.0.0/33"]}},
     "kubernetes.ingress_pod_cidrs", "CIDR ranges"),
    ("k8s-dev", {"kubernetes": {"registry": "localhost:5001", "ingress_pod_cidrs": []}},
     "kubernetes.ingress_pod_cidrs", "at least 1"),
    ("k8s-dev", {"kubernetes": {"registry": "localhost:5001", "namespace": "Berth_Dev"}},
     "kubernetes.namespace", "a string matching"),
    ("k8s-dev", {"kubernetes": {"registry": "localhost:5001", "backup_schedule": "daily"}},
     "kubernetes.backup_schedule", "six-field cron"),
    ("k8s-dev", {"kubernetes": {"registry": "localhost:5001", "termination_grace_seconds": 5}},
     "kubernetes.termination_grace_seconds", "more than prestop_seconds"),
    ("k8s-dev", {"kubernetes": {"registry": "localhost:5001", "ingres_class": "nginx"}},
     "kubernetes.ingres_class", "one of the keys"),
    ("k8s-dev", {"kubernetes": {"registry": "localhost:5001", "monitoring_labels": {"release": "a b"}}},
     "kubernetes.monitoring_labels", "Kubernetes labels"),
    # The image is the version: what the spec says must be what runs.
    ("k8s-dev", {"cache": {"engine_version": "7.2"}}, "kubernetes.redis_image", "states Redis 7.2"),
    ("k8s-dev", {"kubernetes": {"registry": "localhost:5001", "redis_image": "redis:7.4.2-alpine"}},
     "kubernetes.redis_image", "states Redis 7.0 (cache.engine_version)"),
    ("k8s-dev", {"kubernetes": {"registry": "localhost:5001", "redis_image": "redis@sha256:" + "ab" * 32}},
     "kubernetes.redis_image", "states Redis 7.0"),
    ("k8s-dev", {"database": {"engine_version": "14"}}, "kubernetes.postgres_images", "an image for Postgres 14"),
    ("k8s-dev", {"database": {"engine_version": "16.4"}}, "kubernetes.postgres_images", "states Postgres 16.4"),
    ("k8s-dev", {"kubernetes": {"registry": "localhost:5001", "postgres_images": {
        "16": "ghcr.io/cloudnative-pg/postgresql:17.11@sha256:" + "ab" * 32}}}, "kubernetes.postgres_images",
     "states Postgres 16"),
    ("k8s-dev", {"kubernetes": {"registry": "localhost:5001", "postgres_images": {"v16": "postgres:16"}}},
     "kubernetes.postgres_images", "Postgres majors to images"),
]


@pytest.mark.parametrize("stack,overrides,path,expected", BAD, ids=[f"{b[2]}:{i}" for i, b in enumerate(BAD)])
def test_bad_kubernetes_config_is_refused_before_any_resource(stack, overrides, path, expected):
    assert_refused_at(stack, config(stack, **overrides), path, expected)


@pytest.mark.parametrize("version,image", [("16", "ghcr.io/cloudnative-pg/postgresql:16.15-2026-system@sha256:x"),
                                           ("16.15", "ghcr.io/cloudnative-pg/postgresql:16.15-2026-system"),
                                           ("7.0", "registry:5000/mirror/redis:7.0.15-alpine@sha256:x")])
def test_an_image_tagged_as_the_version(version, image):
    from components.kubernetes import tagged_as
    assert tagged_as(image, version)
    assert not tagged_as(image, version + "1")  # 161 ≠ 16.15, 7.01 ≠ 7.0.15
    assert not tagged_as(image.replace(f":{version.split('.')[0]}", ":9"), version)


def test_another_postgres_major_takes_its_pinned_image():
    run = run_program("k8s-dev", config("k8s-dev", database={"engine_version": "17"}))
    image = run.one(CLUSTER).inputs["spec"]["imageName"]
    assert image.startswith("ghcr.io/cloudnative-pg/postgresql:17.") and "@sha256:" in image


def test_the_tiers_state_every_kubernetes_setting_nulls_included():
    from components.kubernetes import Settings
    from infra.config import load_tier, tiers
    for tier in tiers():
        assert set(load_tier(tier).get("kubernetes") or {}) == set(Settings.model_fields), tier
