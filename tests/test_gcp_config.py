"""The gcp target under other configs: two web services and two workers by config alone, a pinned
image, an existing network, the longest names config accepts, and bad config refused with one
clear Problem before any resource."""

from __future__ import annotations

from collections import Counter

import pytest

from infra.mocks import run_program
from tests.conftest import refused, shipped_config as config
from tests.target_hooks import gcp as hook

DIGEST = "europe-west1-docker.pkg.dev/berth-dev-example/berth-gcp-dev/app@sha256:" + "ab" * 32
RUN = "gcp:cloudrunv2/service:Service"
POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
NEG = "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup"
BACKEND = "gcp:compute/backendService:BackendService"
POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
WORKER = ["python", "-m", "app", "worker"]


FOUR = {
    "api": {"kind": "web"},
    "admin": {"kind": "web", "port": 8001},
    "worker": {"kind": "worker", "command": WORKER},
    "mailer": {"kind": "worker", "command": ["python", "-m", "app", "worker"], "scaling": {"min": 2, "max": 2}},
}


@pytest.fixture(scope="module", params=["gcp-dev", "gcp-prod"])
def four(request):
    return run_program(request.param, config(request.param, services=FOUR))


def by_service(run, typ):
    return {r.parent.rsplit("::", 1)[-1]: r for r in run.by_type(typ)}


def test_two_web_services_and_two_workers_plan_with_unique_urns(four):
    urns = Counter(r.urn for r in four.records)
    assert [u for u, n in urns.items() if n > 1] == []
    assert set(by_service(four, RUN)) == {"api", "admin"}
    assert set(by_service(four, POOL)) == {"worker", "mailer"}
    names = [r.inputs["name"] for r in four.by_type(RUN) + four.by_type(POOL)]
    assert len(set(names)) == 4


def test_a_neg_and_a_route_per_web_service_and_none_for_workers(four):
    negs = {r.name: r.inputs for r in four.by_type(NEG)}
    assert set(negs) == {"api-neg", "admin-neg"}
    runs = by_service(four, RUN)
    for name in ("api", "admin"):
        assert negs[f"{name}-neg"]["networkEndpointType"] == "SERVERLESS"
        assert negs[f"{name}-neg"]["cloudRun"] == {"service": runs[name].inputs["name"]}
    assert sorted(r.name for r in four.by_type(BACKEND)) == ["admin-backend", "api-backend"]
    assert hook.routed(four) == {"api", "admin"}
    routes = four.one("gcp:compute/uRLMap:URLMap", "routes").inputs
    backends = {r.name: hook.mock_id(r) for r in four.by_type(BACKEND)}
    assert routes["defaultService"] == backends["api-backend"]
    [rule] = routes["pathMatchers"][0]["routeRules"]
    assert rule["service"] == backends["admin-backend"]
    assert rule["matchRules"] == [{"prefixMatch": "/admin/"}]
    assert rule["routeAction"] == {"urlRewrite": {"pathPrefixRewrite": "/"}}
    assert not [r for r in four.records if "worker" in r.name and r.type in (NEG, BACKEND)]


def test_workers_are_pull_based_pools(four):
    pools = by_service(four, POOL)
    for name, rec in pools.items():
        i = rec.inputs
        [c] = i["template"]["containers"]
        assert c["args"] == WORKER
        assert "ports" not in c and "startupProbe" not in c and "livenessProbe" not in c
        assert "ingress" not in i and "defaultUriDisabled" not in i
        assert i["scaling"] == {"manualInstanceCount": {"worker": 1 if four.stack == "gcp-dev" else 2,
                                                        "mailer": 2}[name]}
        env = {e["name"] for e in c["envs"]}
        assert "FORWARDED_ALLOW_IPS" not in env and "DATABASE_URL" in env


def test_alerts_for_each_service(four):
    policies = {r.name for r in four.by_type(POLICY)}
    for web in ("api", "admin"):
        assert {f"{web}-{k}" for k in ("error-rate", "p95-latency", "uptime", "cpu", "memory")} <= policies
    for worker in ("worker", "mailer"):
        assert {f"{worker}-cpu", f"{worker}-memory"} <= policies
        assert not {f"{worker}-{k}" for k in ("error-rate", "p95-latency", "uptime")} & policies
    uptime = {r.name: r.inputs["httpCheck"]["path"] for r in four.by_type("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig")}
    assert uptime == {"api-uptime": "/readiness", "admin-uptime": "/admin/readiness"}
    pools = by_service(four, POOL)
    worker_cpu = four.one(POLICY, "worker-cpu").inputs["conditions"][0]["conditionThreshold"]["filter"]
    assert 'resource.type="cloud_run_worker_pool"' in worker_cpu
    assert f'resource.label.worker_pool_name="{pools["worker"].inputs["name"]}"' in worker_cpu


def test_pinned_image_runs_as_given_without_a_build():
    run = run_program("gcp-dev", config("gcp-dev", image={"ref": DIGEST}))
    assert not run.by_type("docker:index/image:Image")
    assert run.one(RUN).inputs["template"]["containers"][0]["image"] == DIGEST
    job = run.one("gcp:cloudrunv2/job:Job").inputs
    assert job["template"]["template"]["containers"][0]["image"] == DIGEST
    assert job["runExecutionToken"] == "ab" * 6  # the digest names the release


def test_existing_network_by_name():
    run = run_program("gcp-dev", config("gcp-dev", gcp={"network": "shared-vpc", "subnetwork": "run-europe"}))
    for typ in ("network:Network", "subnetwork:Subnetwork", "router:Router", "routerNat:RouterNat"):
        assert not run.by_type(f"gcp:compute/{typ}")
    vpc = run.one(RUN).inputs["template"]["vpcAccess"]
    assert vpc["networkInterfaces"] == [{"network": "shared-vpc", "subnetwork": "run-europe"}]
    peering = run.one("gcp:servicenetworking/connection:Connection").inputs
    assert peering["network"] == "projects/berth-dev-example/global/networks/shared-vpc"
    sql = run.one("gcp:sql/databaseInstance:DatabaseInstance").inputs
    assert sql["settings"]["ipConfiguration"]["privateNetwork"] == peering["network"]


def test_the_longest_names_config_accepts_plan():
    stack = "s" * 21  # berth-<stack>: the 27-character prefix
    long_web, long_worker = "w" + "-x" * 11 + "y", "k" + "-z" * 11 + "q"
    assert len(long_web) == len(long_worker) == 24
    cfg = {**config("gcp-prod"), "berth:services": {long_web: {"kind": "web"}, "api": {"kind": "web"},
                                                    long_worker: {"kind": "worker", "command": WORKER}}}
    run = run_program(stack, cfg)  # the engine check refuses any name GCP would refuse
    accounts = [r.inputs["accountId"] for r in run.by_type("gcp:serviceaccount/account:Account")]
    assert all(6 <= len(a) <= 30 for a in accounts) and len(set(accounts)) == len(accounts)
    assert all(len(r.inputs["name"]) <= 49 for r in run.by_type(RUN) + run.by_type(POOL))
    assert hook.routed(run) == {long_web, "api"}


BAD = [
    ({"service_defaults": {"cpu": 0.5}}, "services.api.cpu", "one of 1, 2, 4, 6, 8"),
    ({"service_defaults": {"cpu": 1, "memory": 8192}}, "services.api.memory", "MiB 512 to 4096"),
    ({"service_defaults": {"cpu": 4, "memory": 1024}}, "services.api.memory", "MiB 2048 to 16384"),
    ({"cache": {"engine_version": "7.1"}}, "cache.engine_version", "Memorystore"),
    ({"database": {"engine_version": "11"}}, "database.engine_version", "Cloud SQL"),
    ({"database": {"backup_days": 0}}, "database.backup_days", "point-in-time recovery"),
    ({"service_defaults": {"probes": {"startup": {"path": "/liveness", "period_seconds": 300,
                                                  "timeout_seconds": 3, "failure_threshold": 2}}}},
     "services.api.probes.startup.period_seconds", "at most 240"),
    ({"gcp": {"vpc_egress": "everything"}}, "gcp.vpc_egress", "one of"),
    ({"gcp": {"network": "shared-vpc"}}, "gcp", "network and subnetwork together"),
    ({"gcp": {"subnet_cidr": "8.8.0.0/20"}}, "gcp.subnet_cidr", "a private range"),
    ({"gcp": {"rate_limit_interval_seconds": 45}}, "gcp.rate_limit_interval_seconds", "Cloud Armor"),
    ({"gcp": {"transaction_log_days": 9}}, "gcp", "transaction_log_days ≤ 7"),
    ({"gcp:project": None}, "gcp:project", "a Google Cloud project id"),
    ({"gcp:region": "Europe West"}, "gcp:region", "a region like europe-west1"),
]


@pytest.mark.parametrize("overrides,path,expected", BAD, ids=[b[1] + "-" + str(i) for i, b in enumerate(BAD)])
def test_bad_gcp_config_is_refused_before_any_resource(overrides, path, expected):
    problems, records = refused("gcp-dev", config("gcp-dev", **overrides))
    assert records == []
    matching = [p for p in problems if p.path == path]
    assert matching, [str(p) for p in problems]
    assert expected in matching[0].expected, str(matching[0])


def test_prod_without_a_domain_is_refused():
    problems, records = refused("gcp-prod", config("gcp-prod", domain=None))
    assert records == [] and [p.path for p in problems] == ["domain"]


def test_problems_read_as_key_expected_found():
    problems, _ = refused("gcp-dev", config("gcp-dev", **{"gcp:region": None, "service_defaults": {"cpu": 0.25}}))
    lines = sorted(str(p) for p in problems)
    assert lines == [
        "berth:services.api.cpu: expected a Cloud Run vCPU count: one of 1, 2, 4, 6, 8 (below 1 vCPU Cloud Run "
        "serves one request at a time), found 0.25",
        "gcp:region: expected a region like europe-west1 (pulumi config set gcp:region …), found nothing",
    ]
