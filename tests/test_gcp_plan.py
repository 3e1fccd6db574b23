"""What the shipped gcp stacks (gcp-dev and gcp-prod) record under the mock runtime."""

from __future__ import annotations

import json

import pytest

from components.common.proxy import KEEPALIVE_MARGIN_SECONDS
from infra.mocks import FAKE_OUTPUTS, MOCK_CA, is_secret, masked, run_stack, unwrap
from tests.target_hooks.gcp import mock_id

STACKS = ("gcp-dev", "gcp-prod")
RUN = "gcp:cloudrunv2/service:Service"
JOB = "gcp:cloudrunv2/job:Job"
SQL = "gcp:sql/databaseInstance:DatabaseInstance"
REDIS = "gcp:redis/instance:Instance"
SECRET = "gcp:secretmanager/secret:Secret"
VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
ACCOUNT = "gcp:serviceaccount/account:Account"
BUILT = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}


@pytest.fixture(scope="module")
def runs():
    return {stack: run_stack(stack) for stack in STACKS}


def prod(stack: str) -> bool:
    return stack == "gcp-prod"


def container(rec) -> dict:
    [c] = rec.inputs["template"]["containers"] if "containers" in rec.inputs["template"] \
        else rec.inputs["template"]["template"]["containers"]
    return c


def env_of(c: dict) -> tuple[dict, dict]:
    plain = {e["name"]: e["value"] for e in c["envs"] if "value" in e}
    refs = {e["name"]: e["valueSource"]["secretKeyRef"] for e in c["envs"] if "valueSource" in e}
    return plain, refs


@pytest.mark.parametrize("stack", STACKS)
def test_cloud_run_service_probes_scaling_and_ingress(runs, stack):
    run = runs[stack]
    svc = run.one(RUN)
    i, c = svc.inputs, container(svc)
    assert i["name"] == f"berth-{stack}-api" and i["location"] == "europe-west1"
    assert i["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    assert i["defaultUriDisabled"] is prod(stack)  # the run.app URL is off in prod
    assert i["traffics"] == [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]
    t = i["template"]
    assert (t["scaling"]["minInstanceCount"], t["scaling"]["maxInstanceCount"]) == ((2, 10) if prod(stack) else (1, 2))
    assert t["maxInstanceRequestConcurrency"] == 80 and t["timeout"] == "60s"
    assert t["executionEnvironment"] == "EXECUTION_ENVIRONMENT_GEN2"
    startup = (5, 3, 36) if prod(stack) else (5, 3, 24)
    liveness = (10, 5, 3) if prod(stack) else (15, 5, 3)
    for key, (period, timeout, failures) in (("startupProbe", startup), ("livenessProbe", liveness)):
        p = c[key]
        assert p["httpGet"] == {"path": "/liveness", "port": 8000}
        assert (p["periodSeconds"], p["timeoutSeconds"], p["failureThreshold"]) == (period, timeout, failures)
    assert c["ports"] == {"name": "http1", "containerPort": 8000}
    memory = "2048Mi" if prod(stack) else "512Mi"
    assert c["resources"] == {"limits": {"cpu": "1", "memory": memory}, "cpuIdle": True, "startupCpuBoost": True}
    vpc = t["vpcAccess"]
    assert vpc["egress"] == "PRIVATE_RANGES_ONLY"
    subnet = run.one("gcp:compute/subnetwork:Subnetwork").inputs
    assert vpc["networkInterfaces"] == [{"network": f"berth-{stack}", "subnetwork": subnet["name"]}]
    # Its own identity: the account created for it, and no other workload runs as it.
    account = run.one(ACCOUNT, "api-identity").inputs
    assert t["serviceAccount"] == f"{account['accountId']}@berth-{stack[4:]}-example.iam.gserviceaccount.com"
    assert run.one(JOB).inputs["template"]["template"]["serviceAccount"] != t["serviceAccount"]


@pytest.mark.parametrize("stack", STACKS)
def test_env_and_secrets_by_pinned_version(runs, stack):
    run = runs[stack]
    secrets = {r.inputs["secretId"]: r for r in run.by_type(SECRET)}
    assert set(secrets) == {f"berth-{stack}-{k}" for k in BUILT | {"REDIS_CA"}}
    versions = {r.name: r for r in run.by_type(VERSION)}
    assert all(is_secret(v.inputs["secretData"]) for v in versions.values())
    for rec in (run.one(RUN), run.one(JOB)):
        plain, refs = env_of(container(rec))
        assert set(refs) == BUILT  # the CA is a file, not env
        assert not set(refs) & set(plain) and "PORT" not in plain  # Cloud Run sets PORT itself
        for name, ref in refs.items():
            assert ref == {"secret": f"berth-{stack}-{name}", "version": "1"}, name
        assert plain["ENVIRONMENT"] == ("production" if prod(stack) else "development")
        assert plain["LOG_LEVEL"] == ("info" if prod(stack) else "debug")
        assert not any(is_secret(v) for v in plain.values())
    url = unwrap(versions["database-url"].inputs["secretData"])
    sql = FAKE_OUTPUTS[SQL]("postgres", {})
    assert url.startswith("postgresql://app:mock-database-password-") and url.endswith(
        f"@{sql['privateIpAddress']}:5432/app?sslmode=require")


@pytest.mark.parametrize("stack", STACKS)
def test_redis_tls_with_its_ca_mounted_from_a_pinned_secret(runs, stack):
    run = runs[stack]
    redis = run.one(REDIS).inputs
    assert redis["authEnabled"] is True and redis["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    assert redis["connectMode"] == "PRIVATE_SERVICE_ACCESS" and redis["redisVersion"] == "REDIS_7_0"  # the tiers' 7.0
    assert redis["tier"] == ("STANDARD_HA" if prod(stack) else "BASIC")
    assert redis["memorySizeGb"] == (5 if prod(stack) else 1)
    versions = {r.name: unwrap(r.inputs["secretData"]) for r in run.by_type(VERSION)}
    assert versions["redis-ca"] == MOCK_CA
    url = versions["redis-url"]
    assert url.startswith("rediss://:mock-redis-auth-") and ":6378/0?ssl_ca_certs=" in url
    ca_path = url.split("ssl_ca_certs=", 1)[1]
    for rec in (run.one(RUN), run.one(JOB)):
        template = rec.inputs["template"].get("template", rec.inputs["template"])
        [volume] = template["volumes"]
        assert volume["secret"]["secret"] == f"berth-{stack}-REDIS_CA"
        [item] = volume["secret"]["items"]
        assert item["version"] == "1"  # pinned, like the env references
        [mount] = container(rec)["volumeMounts"]
        assert mount["name"] == volume["name"] and f"{mount['mountPath']}/{item['path']}" == ca_path


def test_database_private_only_and_protected_in_prod_only(runs):
    for stack in STACKS:
        on = prod(stack)
        rec = runs[stack].one(SQL)
        i, s = rec.inputs, rec.inputs["settings"]
        assert "name" not in i  # autonamed: Cloud SQL holds a deleted name for a week
        assert i["databaseVersion"] == "POSTGRES_16"
        ip = s["ipConfiguration"]
        assert ip["ipv4Enabled"] is False and ip["sslMode"] == "ENCRYPTED_ONLY"
        assert ip["privateNetwork"] == mock_id(runs[stack].one("gcp:compute/network:Network"))
        assert "authorizedNetworks" not in ip
        b = s["backupConfiguration"]
        assert b["enabled"] is True and b["pointInTimeRecoveryEnabled"] is True
        assert b["backupRetentionSettings"] == {"retainedBackups": 14 if on else 1, "retentionUnit": "COUNT"}
        assert b["transactionLogRetentionDays"] == (7 if on else 1)
        assert s["availabilityType"] == ("REGIONAL" if on else "ZONAL")
        assert s["deletionProtectionEnabled"] is on and i["deletionProtection"] is on
        assert rec.options["protect"] is on
        assert ("finalBackupConfig" in s) is on
        assert s["insightsConfig"]["queryInsightsEnabled"] is on
        assert s["diskAutoresize"] is on and s["diskSize"] == (50 if on else 20)
        assert s["tier"] == ("db-custom-2-7680" if on else "db-f1-micro")
        # Created only once private services access is in place.
        peering = runs[stack].one("gcp:servicenetworking/connection:Connection")
        assert peering.urn in rec.options["depends_on"]
    assert runs["gcp-prod"].one(SQL).inputs["settings"]["finalBackupConfig"] == {"enabled": True, "retentionDays": 30}


def test_prod_protections_present_and_dev_absent(runs):
    for stack in STACKS:
        on, run = prod(stack), runs[stack]
        for typ in (RUN, JOB, SECRET):
            assert {r.inputs["deletionProtection"] for r in run.by_type(typ)} == {on}, typ
        assert run.one("gcp:artifactregistry/repository:Repository").options["protect"] is on


@pytest.mark.parametrize("stack", STACKS)
def test_iam_bindings_one_by_one(runs, stack):
    run = runs[stack]
    emails = {r.name.removesuffix("-identity"): f"serviceAccount:{r.inputs['accountId']}@berth-{stack[4:]}-example"
              f".iam.gserviceaccount.com" for r in run.by_type(ACCOUNT)}
    assert set(emails) == {"api", "migrate"}
    secret_ids = {mock_id(r): r.inputs["secretId"] for r in run.by_type(SECRET)}
    grants = set()
    for r in run.by_type("gcp:secretmanager/secretIamMember:SecretIamMember"):
        grants.add((r.inputs["member"], r.inputs["role"], secret_ids[r.inputs["secretId"]]))
    for r in run.by_type("gcp:projects/iAMMember:IAMMember"):
        assert r.inputs["project"] == f"berth-{stack[4:]}-example"
        grants.add((r.inputs["member"], r.inputs["role"], "project"))
    expected = set()
    for who, member in emails.items():
        expected |= {(member, "roles/secretmanager.secretAccessor", f"berth-{stack}-{k}") for k in BUILT | {"REDIS_CA"}}
        expected.add((member, "roles/cloudsql.client", "project"))
    assert grants == expected
    # Member-level only: no authoritative policy or binding anywhere.
    assert not [r.type for r in run.records if r.type.endswith(("IAMPolicy", "IamPolicy", "IAMBinding", "IamBinding"))]


@pytest.mark.parametrize("stack", STACKS)
def test_migration_job_gates_the_release(runs, stack):
    from infra.config import ROOT
    from infra.source import source_hash
    run = runs[stack]
    job = run.one(JOB)
    i = job.inputs
    assert i["name"] == f"berth-{stack}-migrate"
    assert i["runExecutionToken"] == source_hash(ROOT / "app")  # a new release, a new execution
    c = container(job)
    assert c["args"] == ["python", "-m", "app", "migrate"]
    assert i["template"]["template"]["maxRetries"] == 0 and i["template"]["template"]["timeout"] == "600s"
    assert job.urn in run.one(RUN).options["depends_on"]  # no new revision before the migration completed
    grants = [r.urn for r in run.by_type("gcp:secretmanager/secretIamMember:SecretIamMember") if r.name.startswith("migrate-")]
    assert set(grants) <= set(job.options["depends_on"]) and len(grants) == 4


@pytest.mark.parametrize("stack", STACKS)
def test_proxy_env_names_the_real_proxies_and_outlasts_the_load_balancer(runs, stack):
    run = runs[stack]
    plain, _ = env_of(container(run.one(RUN)))
    address = run.one("gcp:compute/globalAddress:GlobalAddress", "address")
    ip = FAKE_OUTPUTS[address.type](address.name, address.inputs)["address"]
    trusted = plain["FORWARDED_ALLOW_IPS"].split(",")
    assert trusted == ["169.254.0.0/16", "35.191.0.0/16", "130.211.0.0/22", f"{ip}/32"]
    assert "*" not in plain["FORWARDED_ALLOW_IPS"]
    proxies = run.by_type("gcp:compute/targetHttpProxy:TargetHttpProxy") + \
        run.by_type("gcp:compute/targetHttpsProxy:TargetHttpsProxy")
    assert {p.inputs["httpKeepAliveTimeoutSec"] for p in proxies} == {610}
    assert int(plain["KEEPALIVE_SECONDS"]) == 610 + KEEPALIVE_MARGIN_SECONDS > 610


def _client_seen(trusted: str, peer: str, forwarded: str) -> str:
    """What the service takes as the client: uvicorn's proxy-header handling, which the image's
    gunicorn + uvicorn workers run with FORWARDED_ALLOW_IPS."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
    seen = {}

    async def app(scope, receive, send):
        seen["client"] = scope["client"][0]

    scope = {"type": "http", "client": (peer, 41234), "headers": [(b"x-forwarded-for", forwarded.encode())]}
    # Driven by hand: nothing in it awaits I/O, and the mock runtime keeps its own event loop.
    step = ProxyHeadersMiddleware(app, trusted_hosts=trusted)(scope, None, None)
    with pytest.raises(StopIteration):
        step.send(None)
    return seen["client"]


def test_a_spoofed_forwarded_for_entry_does_not_become_the_client(runs):
    run = runs["gcp-prod"]
    plain, _ = env_of(container(run.one(RUN)))
    trusted = plain["FORWARDED_ALLOW_IPS"]
    lb = trusted.rsplit(",", 1)[1].removesuffix("/32")
    # What the load balancer sends: the client's own header, then <client>, <load balancer>.
    assert _client_seen(trusted, "169.254.1.1", f"6.6.6.6, 198.51.100.7, {lb}") == "198.51.100.7"
    assert _client_seen(trusted, "169.254.1.1", f"198.51.100.7, {lb}") == "198.51.100.7"
    # A client that reached the container some other way gets no say at all.
    assert _client_seen(trusted, "198.51.100.9", f"6.6.6.6, {lb}") == "198.51.100.9"
    # Without the load balancer's address every client would look like the load balancer.
    assert _client_seen(trusted.rsplit(",", 1)[0], "169.254.1.1", f"198.51.100.7, {lb}") == lb


def test_edge(runs):
    prod_run, dev = runs["gcp-prod"], runs["gcp-dev"]
    rules = {r.name: r.inputs for r in prod_run.by_type("gcp:compute/globalForwardingRule:GlobalForwardingRule")}
    assert {n: r["portRange"] for n, r in rules.items()} == {"https": "443", "http": "80"}
    assert all(r["loadBalancingScheme"] == "EXTERNAL_MANAGED" for r in rules.values())
    address = mock_id(prod_run.one("gcp:compute/globalAddress:GlobalAddress", "address"))
    assert {r["ipAddress"] for r in rules.values()} == {address}
    maps = {r.name: r for r in prod_run.by_type("gcp:compute/uRLMap:URLMap")}
    assert maps["redirect"].inputs["defaultUrlRedirect"]["httpsRedirect"] is True
    http = prod_run.one("gcp:compute/targetHttpProxy:TargetHttpProxy").inputs
    assert http["urlMap"] == mock_id(maps["redirect"])  # plain HTTP only ever redirects
    https = prod_run.one("gcp:compute/targetHttpsProxy:TargetHttpsProxy").inputs
    assert https["urlMap"] == mock_id(maps["routes"])
    cert = prod_run.one("gcp:compute/managedSslCertificate:ManagedSslCertificate")
    assert cert.inputs["managed"] == {"domains": ["api.example.com"]} and https["sslCertificates"] == [mock_id(cert)]
    tls = prod_run.one("gcp:compute/sSLPolicy:SSLPolicy").inputs
    assert (tls["profile"], tls["minTlsVersion"]) == ("MODERN", "TLS_1_2")
    assert [r.inputs["portRange"] for r in dev.by_type("gcp:compute/globalForwardingRule:GlobalForwardingRule")] == ["80"]
    assert not dev.by_type("gcp:compute/targetHttpsProxy:TargetHttpsProxy")
    for run in (prod_run, dev):
        armor = run.one("gcp:compute/securityPolicy:SecurityPolicy")
        throttle = [r for r in armor.inputs["rules"] if r["action"] == "throttle"]
        [rule] = throttle
        opts = rule["rateLimitOptions"]
        assert opts["enforceOnKey"] == "IP" and opts["exceedAction"] == "deny(429)"
        assert opts["rateLimitThreshold"] == {"count": 2000, "intervalSec": 300}
        assert rule["match"]["config"]["srcIpRanges"] == ["*"]
        backend = run.one("gcp:compute/backendService:BackendService").inputs
        assert backend["securityPolicy"] == mock_id(armor)
        assert backend["loadBalancingScheme"] == "EXTERNAL_MANAGED" and "healthChecks" not in backend
        neg = run.one("gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup")
        assert backend["backends"] == [{"group": mock_id(neg)}]
        assert neg.inputs["cloudRun"]["service"] == run.one(RUN).inputs["name"]
        assert backend["logConfig"]["enable"] is (run is prod_run)  # edge.access_logs


@pytest.mark.parametrize("stack", STACKS)
def test_alert_thresholds_from_the_spec(runs, stack):
    run = runs[stack]
    policies = {r.name: r.inputs for r in run.by_type(POLICY)}
    assert set(policies) == {"api-error-rate", "api-p95-latency", "api-uptime", "api-cpu", "api-memory",
                             "database-free-storage", "database-cpu", "database-memory", "cache-memory"}

    def cond(name):
        [c] = policies[name]["conditions"]
        return c.get("conditionThreshold") or c.get("conditionPrometheusQueryLanguage")

    err = cond("api-error-rate")
    assert err["thresholdValue"] == 0.1 and err["duration"] == "300s" and err["comparison"] == "COMPARISON_GT"
    backend = run.one("gcp:compute/backendService:BackendService").inputs["name"]
    assert f'resource.label.backend_target_name="{backend}"' in err["filter"]
    assert err["filter"].endswith("response_code_class=500") and "response_code_class" not in err["denominatorFilter"]
    latency = cond("api-p95-latency")
    assert latency["thresholdValue"] == 10_000 and latency["aggregations"][0]["crossSeriesReducer"] == "REDUCE_PERCENTILE_95"
    assert f'resource.label.service_name="berth-{stack}-api"' in latency["filter"]
    period = 60 if prod(stack) else 300
    uptime = cond("api-uptime")
    assert uptime["duration"] == f"{period * 2}s"  # three failed checks in a row
    assert uptime["aggregations"][0]["crossSeriesReducer"] == "REDUCE_COUNT_FALSE"
    check = run.one("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig")
    assert check.inputs["httpCheck"]["path"] == "/readiness" and check.inputs["period"] == f"{period}s"
    check_id = FAKE_OUTPUTS[check.type](check.name, check.inputs)["uptimeCheckId"]
    assert f'metric.label.check_id="{check_id}"' in uptime["filter"]
    assert check.inputs["httpCheck"]["useSsl"] is prod(stack)
    assert check.inputs["monitoredResource"]["labels"]["host"] == ("api.example.com" if prod(stack) else "203.0.113.10")
    usage = 0.8 if prod(stack) else 0.85
    for name in ("api-cpu", "api-memory", "database-cpu", "database-memory", "cache-memory"):
        assert cond(name)["thresholdValue"] == usage, name
    assert cond("database-free-storage")["query"].endswith(f"< {1024 ** 3}")
    channels = run.by_type("gcp:monitoring/notificationChannel:NotificationChannel")
    if prod(stack):
        [channel] = channels
        assert channel.inputs["labels"] == {"email_address": "oncall@example.com"}
        assert all(p["notificationChannels"] == [mock_id(channel)] for p in policies.values())
    else:
        assert channels == [] and all(p["notificationChannels"] == [] for p in policies.values())
    board = json.loads(run.one("gcp:monitoring/dashboard:Dashboard").inputs["dashboardJson"])
    text = json.dumps(board)
    for signal in ("https/request_count", "request_latencies", "REDUCE_PERCENTILE_50", "REDUCE_PERCENTILE_99",
                   "instance_count", "database/cpu/utilization", "num_backends"):
        assert signal in text, signal


@pytest.mark.parametrize("stack", STACKS)
def test_registry_and_image(runs, stack):
    from infra.config import ROOT
    from infra.source import source_hash
    run = runs[stack]
    repo = run.one("gcp:artifactregistry/repository:Repository").inputs
    assert repo["format"] == "DOCKER" and repo["dockerConfig"] == {"immutableTags": True}
    policies = {p["id"]: p for p in repo["cleanupPolicies"]}
    assert policies["keep-recent-releases"] == {"id": "keep-recent-releases", "action": "KEEP",
                                                "mostRecentVersions": {"keepCount": 50 if prod(stack) else 20}}
    assert policies["delete-untagged"]["condition"] == {"tagState": "UNTAGGED", "olderThan": f"{7 * 86400}s"}
    image = run.one("docker:index/image:Image").inputs
    assert image["imageName"] == (f"europe-west1-docker.pkg.dev/berth-{stack[4:]}-example/berth-{stack}/app:"
                                  f"{source_hash(ROOT / 'app')}")
    assert is_secret(image["registry"])  # the access token stays a secret
    assert "@sha256:" in container(run.one(RUN))["image"]


@pytest.mark.parametrize("stack", STACKS)
def test_network_private_services_and_nat(runs, stack):
    run = runs[stack]
    vpc = run.one("gcp:compute/network:Network").inputs
    assert vpc["autoCreateSubnetworks"] is False
    subnet = run.one("gcp:compute/subnetwork:Subnetwork").inputs
    assert subnet["ipCidrRange"] == "10.8.0.0/20" and subnet["privateIpGoogleAccess"] is True
    psa = run.one("gcp:compute/globalAddress:GlobalAddress", "private-services").inputs
    assert (psa["purpose"], psa["addressType"], psa["prefixLength"]) == ("VPC_PEERING", "INTERNAL", 20)
    peering = run.one("gcp:servicenetworking/connection:Connection").inputs
    assert peering["service"] == "servicenetworking.googleapis.com" and peering["reservedPeeringRanges"] == [psa["name"]]
    nat = run.one("gcp:compute/routerNat:RouterNat").inputs
    assert nat["sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"
    assert not run.by_type("gcp:compute/firewall:Firewall")


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_and_no_secret_anywhere_in_plain_text(runs, stack):
    run = runs[stack]
    assert set(run.outputs) == {"url", "load_balancer_ip", "services", "dashboard_url", "repository"}
    assert run.secret_outputs == []
    assert run.outputs["url"] == ("https://api.example.com" if prod(stack) else "http://203.0.113.10")
    assert run.outputs["services"] == {"api": f"berth-{stack}-api"}
    assert run.outputs["dashboard_url"].startswith("https://console.cloud.google.com/monitoring/dashboards/")
    secrets = {unwrap(r.inputs["secretData"]) for r in run.by_type(VERSION)}
    secrets |= {FAKE_OUTPUTS[r.type](r.name, {})["result"] for r in run.by_type("random:index/randomPassword:RandomPassword")}
    secrets |= {FAKE_OUTPUTS[REDIS]("redis", {})["authString"], "mock-gcp-access-token"}
    assert len(secrets) >= 7
    plan = json.dumps([{"type": r.type, "name": r.name, "inputs": r.masked_inputs()} for r in run.records]
                      + [masked(run.outputs)], default=str)
    for value in secrets - {MOCK_CA}:  # the CA is public; it is a secret only to travel with the URL
        assert value not in plan
