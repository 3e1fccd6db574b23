"""What the shipped kubernetes stacks (k8s-dev, k8s-prod) record under the mock runtime."""

from __future__ import annotations

import json
import re

import pytest

from infra.mocks import is_secret, masked, run_stack, unwrap
from tests.k8s import (ACCOUNT, AM_CONFIG, BACKUP, CERTIFICATE, CLUSTER, CONFIGMAP, DEPLOYMENT, HPA, INGRESS, ISSUER, JOB,
                       MONITOR, NAMESPACE, PDB, POLICY, RULE, SECRET, SERVICE, STATEFULSET, TIERS, container, of, pod)


@pytest.fixture(scope="module")
def runs():
    return {tier: run_stack(stack) for tier, stack in TIERS.items()}


def env_of(c):
    plain = {e["name"]: e["value"] for e in c["env"] if "value" in e}
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"] if "valueFrom" in e}
    return plain, refs


def test_namespace_enforces_restricted_pod_security_and_denies_by_default(runs):
    for tier, run in runs.items():
        ns = run.one(NAMESPACE).inputs["metadata"]
        assert ns["name"] == TIERS[tier].replace("k8s", "berth-k8s")
        for mode in ("enforce", "audit", "warn"):
            assert ns["labels"][f"pod-security.kubernetes.io/{mode}"] == "restricted"
        deny = run.one(POLICY, "default-deny").inputs
        assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        names = {r.inputs["metadata"].get("namespace") for r in run.records
                 if r.type.startswith("kubernetes:") and r.type not in (NAMESPACE, ISSUER)
                 and "berth:kubernetes:InternalCA::" not in r.parent}
        assert names == {ns["name"]}  # every object in the stack's namespace, none in `default`
        # The internal CA: its issuers are cluster-wide, its certificate in cert-manager's namespace.
        assert {r.inputs["metadata"].get("namespace") for r in run.by_type(ISSUER)} == {None}
        assert run.one(CERTIFICATE, "ca").inputs["metadata"]["namespace"] == "cert-manager"


@pytest.mark.parametrize("tier", TIERS)
def test_deployment_per_service_from_the_spec(runs, tier):
    run = runs[tier]
    cpu, memory = {"dev": ("250m", "512Mi"), "prod": ("1000m", "2048Mi")}[tier]
    for service in ("api", "worker"):
        c = container(run, service)
        assert c["resources"] == {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu, "memory": memory}}
        assert "@sha256:" in c["image"] and c["image"].startswith(
            {"dev": "localhost:5001/berth-k8s-dev@", "prod": "ghcr.io/example/berth/berth-k8s-prod@"}[tier])
        sec = c["securityContext"]
        assert sec["runAsNonRoot"] is True and sec["runAsUser"] == 10001 and sec["readOnlyRootFilesystem"] is True
        assert sec["allowPrivilegeEscalation"] is False and sec["capabilities"] == {"drop": ["ALL"]}
        assert sec["seccompProfile"] == {"type": "RuntimeDefault"}
        p = pod(run, service)
        assert p["securityContext"]["runAsNonRoot"] is True and p["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert p["volumes"][0] == {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}
        assert c["volumeMounts"][0] == {"name": "tmp", "mountPath": "/tmp"}
        assert p["automountServiceAccountToken"] is False and p["enableServiceLinks"] is False
        account = of(run, ACCOUNT, service).inputs
        assert account["automountServiceAccountToken"] is False
        assert p["serviceAccountName"] == account["metadata"]["name"] == f"berth-{TIERS[tier]}-{service}"
        spec = of(run, DEPLOYMENT, service).inputs["spec"]
        assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}}
        assert spec["progressDeadlineSeconds"] == {"dev": 300, "prod": 600}[tier]
        assert spec["replicas"] == {"dev": 1, "prod": 2}[tier]
        assert p["terminationGracePeriodSeconds"] == {"dev": 40, "prod": 45}[tier]
        spread = p.get("topologySpreadConstraints", [])
        assert {s["topologyKey"] for s in spread} == (
            {"kubernetes.io/hostname", "topology.kubernetes.io/zone"} if tier == "prod" else set())
        assert of(run, DEPLOYMENT, service).options["ignore_changes"] == ["spec.replicas"]
    assert container(run, "worker")["command"] == ["python", "-m", "app", "worker"]
    assert "command" not in container(run, "api")  # the image's own server


@pytest.mark.parametrize("tier", TIERS)
def test_probes_prestop_and_port_of_the_web_service(runs, tier):
    run = runs[tier]
    c = container(run, "api")
    assert c["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    timings = {"dev": {"startupProbe": (5, 3, 24), "livenessProbe": (15, 5, 3), "readinessProbe": (10, 5, 3)},
               "prod": {"startupProbe": (5, 3, 36), "livenessProbe": (10, 5, 3), "readinessProbe": (10, 5, 3)}}[tier]
    paths = {"startupProbe": "/liveness", "livenessProbe": "/liveness", "readinessProbe": "/readiness"}
    for probe, (period, timeout, failures) in timings.items():
        p = c[probe]
        assert p["httpGet"] == {"path": paths[probe], "port": "http"}
        assert (p["periodSeconds"], p["timeoutSeconds"], p["failureThreshold"]) == (period, timeout, failures)
    sleep = {"dev": "5", "prod": "10"}[tier]
    assert c["lifecycle"] == {"preStop": {"exec": {"command": ["sleep", sleep]}}}
    assert pod(run, "api")["terminationGracePeriodSeconds"] > int(sleep) + 30  # gunicorn's graceful timeout
    worker = container(run, "worker")
    assert not {"ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle"} & set(worker)


@pytest.mark.parametrize("tier", TIERS)
def test_env_plain_and_every_secret_by_reference(runs, tier):
    run = runs[tier]
    secret = run.one(SECRET, "app-env")
    assert is_secret(secret.inputs["stringData"]) and secret.options["additional_secret_outputs"]
    keys = set(unwrap(secret.inputs["stringData"]))
    assert keys == {"SECRET_KEY", "REDIS_URL"}
    secret_name = secret.inputs["metadata"].get("name") or "app-env-"
    for service in ("api", "worker"):
        plain, refs = env_of(container(run, service))
        assert set(refs) == {"SECRET_KEY", "REDIS_URL", "DATABASE_URL"}
        assert not set(refs) & set(plain)
        assert refs["DATABASE_URL"] == {"name": f"berth-{TIERS[tier]}-postgres-app", "key": "uri"}
        for key in ("SECRET_KEY", "REDIS_URL"):
            assert refs[key]["key"] == key and refs[key]["name"].startswith(secret_name)
        assert plain["ENVIRONMENT"] == {"dev": "development", "prod": "production"}[tier]
    redis_url = unwrap(secret.inputs["stringData"])["REDIS_URL"]
    assert redis_url.startswith("rediss://:mock-cache-password-") and redis_url.endswith(
        f"@berth-{TIERS[tier]}-redis.berth-{TIERS[tier]}.svc:6379/0?ssl_ca_certs=/etc/berth/redis-ca/ca.crt")


@pytest.mark.parametrize("tier", TIERS)
def test_service_trusts_only_the_ingress_range_and_outlasts_its_keepalive(runs, tier):
    run = runs[tier]
    plain, _ = env_of(container(run, "api"))
    assert plain["FORWARDED_ALLOW_IPS"] == {"dev": "10.244.0.0/16", "prod": "10.0.0.0/8"}[tier]
    assert "*" not in plain["FORWARDED_ALLOW_IPS"]
    ingress = run.one(INGRESS).inputs["metadata"]["annotations"]
    idle = int(ingress["nginx.ingress.kubernetes.io/proxy-read-timeout"])
    assert int(plain["KEEPALIVE_SECONDS"]) > idle == 60
    assert plain["PORT"] == "8000"
    worker, _ = env_of(container(run, "worker"))
    assert "FORWARDED_ALLOW_IPS" not in worker and "PORT" not in worker


@pytest.mark.parametrize("tier", TIERS)
def test_web_service_autoscaling_disruption_and_service(runs, tier):
    run = runs[tier]
    for service in ("api", "worker"):
        hpa = of(run, HPA, service).inputs["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                         "name": f"berth-{TIERS[tier]}-{service}"}
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == {"dev": (1, 2), "prod": (2, 10)}[tier]
        assert hpa["metrics"] == [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]
    pdbs = {r.parent.rsplit("::", 1)[-1]: r.inputs["spec"] for r in run.by_type(PDB)}
    assert set(pdbs) == ({"api", "worker"} if tier == "prod" else set())  # only with more than one replica
    for spec in pdbs.values():
        assert spec["maxUnavailable"] == 1
    services = {r.parent.rsplit("::", 1)[-1]: r.inputs["spec"] for r in run.by_type(SERVICE)}
    assert set(services) == {"api", "cache"}  # the web service and Redis; no Service for a worker
    assert services["api"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}]
    assert services["api"]["selector"] == of(run, DEPLOYMENT, "api").inputs["spec"]["selector"]["matchLabels"]


def rule_peers(rule, side):
    out = set()
    for peer in rule.get(side, []):
        if "namespaceSelector" in peer:
            out.add(("ns", peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]))
        elif "podSelector" in peer:
            out.add(("pods", json.dumps(peer["podSelector"], sort_keys=True)))
        else:
            out.add(("cidr", peer["ipBlock"]["cidr"]))
    return out


@pytest.mark.parametrize("tier", TIERS)
def test_network_policies_one_by_one(runs, tier):
    run = runs[tier]
    prefix = f"berth-{TIERS[tier]}"
    api, worker = of(run, POLICY, "api").inputs["spec"], of(run, POLICY, "worker").inputs["spec"]
    assert [(rule_peers(r, "from"), [p["port"] for p in r["ports"]]) for r in api["ingress"]] == [
        ({("ns", "ingress-nginx")}, [8000]), ({("ns", "monitoring")}, [8000])]
    assert worker["ingress"] == []
    db = json.dumps({"matchLabels": {"cnpg.io/cluster": f"{prefix}-postgres"}}, sort_keys=True)
    redis = json.dumps({"matchLabels": {"app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": prefix}},
                       sort_keys=True)
    for spec in (api, worker, run.one(POLICY, "migrate").inputs["spec"]):
        egress = [(rule_peers(r, "to"), sorted((p["protocol"], p["port"]) for p in r["ports"])) for r in spec["egress"]]
        assert egress[0][1] == [("TCP", 53), ("UDP", 53)]
        assert egress[1:] == [({("pods", db)}, [("TCP", 5432)]), ({("pods", redis)}, [("TCP", 6379)]),
                              ({("cidr", "0.0.0.0/0")}, [("TCP", 443)])]
    cache = run.one(POLICY, "redis").inputs["spec"]
    assert [r["ports"] for r in cache["ingress"]] == [[{"protocol": "TCP", "port": 6379}]]
    clients = cache["ingress"][0]["from"][0]["podSelector"]
    assert clients["matchExpressions"][0]["values"] == ["web", "worker", "migrations"]
    assert [rule_peers(r, "to") for r in cache["egress"]] != [] and len(cache["egress"]) == 1  # DNS only
    postgres = run.one(POLICY, "postgres").inputs["spec"]
    ports = {tuple(p["port"] for p in r["ports"]) for r in postgres["ingress"]}
    assert ports == {(5432,), (5432, 8000), (8000,), (9187,)}
    assert ("ns", "cnpg-system") in set().union(*(rule_peers(r, "from") for r in postgres["ingress"]))


@pytest.mark.parametrize("tier", TIERS)
def test_migrations_job_named_after_the_release_gates_every_deployment(runs, tier):
    run = runs[tier]
    job = run.one(JOB)
    name = job.inputs["metadata"]["name"]
    assert name.startswith(f"berth-{TIERS[tier]}-migrate-") and len(name.rsplit("-", 1)[1]) == 10
    c = job.inputs["spec"]["template"]["spec"]["containers"][0]
    assert c["command"] == ["python", "-m", "app", "migrate"] and c["image"] == container(run, "api")["image"]
    _, refs = env_of(c)
    assert "DATABASE_URL" in refs and job.inputs["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job.inputs["spec"]["backoffLimit"] == 1
    for service in ("api", "worker"):
        assert job.urn in of(run, DEPLOYMENT, service).options["depends_on"]
    cluster = run.one(CLUSTER)
    assert cluster.urn in job.options["depends_on"]
    assert cluster.inputs["metadata"]["annotations"] == {"pulumi.com/waitFor": "condition=Ready"}


def ca_files(p: dict, c: dict) -> dict[str, tuple[dict, dict]]:
    """Volume name → (its Secret source, its mount), for the pod's volumes from Secrets."""
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    return {v["name"]: (v["secret"], mounts[v["name"]]) for v in p["volumes"] if "secret" in v}


@pytest.mark.parametrize("tier", TIERS)
def test_database_clients_require_verified_tls(runs, tier):
    run = runs[tier]
    prefix = f"berth-{TIERS[tier]}"
    assert run.one(CLUSTER).inputs["spec"]["postgresql"]["pg_hba"] == ["hostnossl all all all reject"]
    job = run.one(JOB).inputs["spec"]["template"]["spec"]
    for p, c in [(pod(run, s), container(run, s)) for s in ("api", "worker")] + [(job, job["containers"][0])]:
        plain, refs = env_of(c)
        # libpq's defaults for the operator's URL (which has no query): TLS, the server verified by name.
        assert plain["PGSSLMODE"] == "verify-full" and plain["PGSSLROOTCERT"] == "/etc/berth/postgres-ca/ca.crt"
        assert refs["DATABASE_URL"] == {"name": f"{prefix}-postgres-app", "key": "uri"}
        secret, mount = ca_files(p, c)["postgres-ca"]
        # Only the operator's CA certificate: not its key, which the same Secret holds.
        assert secret == {"secretName": f"{prefix}-postgres-ca", "defaultMode": 0o444,
                          "items": [{"key": "ca.crt", "path": "ca.crt"}]}
        assert mount == {"name": "postgres-ca", "mountPath": "/etc/berth/postgres-ca", "readOnly": True}


def cert_chain(run) -> tuple[dict, dict, dict, dict]:
    """The internal CA's self-signed issuer, CA certificate and CA issuer, and Redis's certificate."""
    issuers = {r.name: r.inputs for r in run.by_type(ISSUER)}
    return (issuers["selfsigned-issuer"], run.one(CERTIFICATE, "ca").inputs, issuers["ca-issuer"],
            run.one(CERTIFICATE, "redis").inputs)


@pytest.mark.parametrize("tier", TIERS)
def test_redis_certificate_from_the_stack_s_internal_ca(runs, tier):
    run = runs[tier]
    prefix = f"berth-{TIERS[tier]}"
    selfsigned, ca, ca_issuer, redis = cert_chain(run)
    assert selfsigned["metadata"]["name"] == f"{prefix}-selfsigned" and selfsigned["spec"] == {"selfSigned": {}}
    assert ca["spec"]["isCA"] is True and ca["metadata"]["namespace"] == "cert-manager"
    assert ca["spec"]["issuerRef"] == {"name": f"{prefix}-selfsigned", "kind": "ClusterIssuer",
                                       "group": "cert-manager.io"}
    # A CA ClusterIssuer reads the CA's Secret from cert-manager's cluster resource namespace.
    assert ca_issuer["metadata"]["name"] == f"{prefix}-ca" and ca_issuer["spec"] == {
        "ca": {"secretName": ca["spec"]["secretName"]}}
    service = f"{prefix}-redis"
    assert redis["metadata"]["namespace"] == prefix and redis["spec"]["secretName"] == f"{prefix}-redis-tls"
    assert redis["spec"]["dnsNames"] == [service, f"{service}.{prefix}", f"{service}.{prefix}.svc"]
    assert redis["spec"]["issuerRef"] == {"name": f"{prefix}-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    assert redis["spec"]["usages"] == ["server auth"]
    for obj in (selfsigned, ca, ca_issuer, redis):  # Pulumi waits until cert-manager says it is ready
        assert obj["metadata"]["annotations"] == {"pulumi.com/waitFor": "condition=Ready"}
    certificate = run.one(CERTIFICATE, "redis")
    assert certificate.urn in run.one(STATEFULSET).options["depends_on"]
    assert run.one(ISSUER, "ca-issuer").urn in certificate.options["depends_on"]
    assert run.one(CERTIFICATE, "ca").urn in run.one(ISSUER, "ca-issuer").options["depends_on"]


@pytest.mark.parametrize("tier", TIERS)
def test_redis_clients_connect_over_tls_and_verify_the_server(runs, tier):
    run = runs[tier]
    prefix = f"berth-{TIERS[tier]}"
    url = unwrap(run.one(SECRET, "app-env").inputs["stringData"])["REDIS_URL"]
    assert url.startswith("rediss://") and url.endswith("?ssl_ca_certs=/etc/berth/redis-ca/ca.crt")
    host = url.split("@", 1)[1].split(":", 1)[0]
    assert host in run.one(CERTIFICATE, "redis").inputs["spec"]["dnsNames"]  # what redis-py checks the name against
    job = run.one(JOB).inputs["spec"]["template"]["spec"]
    for p, c in [(pod(run, s), container(run, s)) for s in ("api", "worker")] + [(job, job["containers"][0])]:
        secret, mount = ca_files(p, c)["redis-ca"]
        # The CA certificate only: the same Secret holds Redis's private key.
        assert secret == {"secretName": f"{prefix}-redis-tls", "defaultMode": 0o444,
                          "items": [{"key": "ca.crt", "path": "ca.crt"}]}
        assert mount == {"name": "redis-ca", "mountPath": "/etc/berth/redis-ca", "readOnly": True}


def test_cloudnativepg_per_tier(runs):
    for tier, run in runs.items():
        prod = tier == "prod"
        cluster = run.one(CLUSTER)
        spec = cluster.inputs["spec"]
        assert spec["instances"] == (3 if prod else 1)
        assert spec["storage"] == {"size": "50Gi" if prod else "20Gi"}
        # CloudNativePG's `system` image of the spec's major (Barman Cloud, for the backups), by digest.
        assert re.fullmatch(r"ghcr\.io/cloudnative-pg/postgresql:16\.\d+-\d+-system-bookworm@sha256:[0-9a-f]{64}",
                            spec["imageName"]), spec["imageName"]
        assert spec["bootstrap"] == {"initdb": {"database": "app", "owner": "app"}}
        assert spec["enableSuperuserAccess"] is False
        assert spec["affinity"]["podAntiAffinityType"] == ("required" if prod else "preferred")
        assert cluster.options["protect"] is prod
        assert ("backup" in spec) is prod and bool(run.by_type(BACKUP)) is prod
    spec = runs["prod"].one(CLUSTER).inputs["spec"]
    assert spec["backup"]["retentionPolicy"] == "14d"
    assert spec["backup"]["barmanObjectStore"]["destinationPath"] == "s3://berth-backups-example/k8s-prod"
    assert spec["backup"]["barmanObjectStore"]["s3Credentials"] == {"inheritFromIAMRole": True}
    backup = runs["prod"].one(BACKUP).inputs["spec"]
    assert backup["cluster"] == {"name": "berth-k8s-prod-postgres"} and backup["schedule"] == "0 0 3 * * *"


@pytest.mark.parametrize("tier", TIERS)
def test_redis_statefulset(runs, tier):
    run = runs[tier]
    ss = run.one(STATEFULSET).inputs["spec"]
    c = ss["template"]["spec"]["containers"][0]
    # The official image of cache.engine_version (7.0), by digest.
    assert re.fullmatch(r"redis:7\.0\.\d+-alpine@sha256:[0-9a-f]{64}", c["image"]) and ss["replicas"] == 1
    server = c["command"][-1]
    assert '--requirepass "$(cat /etc/redis-auth/password)"' in server
    # TLS on 6379 and no plain port; the certificate from its Secret; clients authenticate by password.
    words = server.split()
    flags = {w: words[i + 1] for i, w in enumerate(words[:-1]) if w.startswith("--")}
    assert flags["--port"] == "0" and flags["--tls-port"] == "6379" and flags["--tls-auth-clients"] == "no"
    assert (flags["--tls-cert-file"], flags["--tls-key-file"], flags["--tls-ca-cert-file"]) == (
        "/etc/redis-tls/tls.crt", "/etc/redis-tls/tls.key", "/etc/redis-tls/ca.crt")
    assert server.startswith("sha256sum /etc/redis-tls/tls.crt > /tmp/tls.crt.sha256 && exec redis-server ")
    assert "env" not in c  # the password is a read-only file from its Secret, not env
    password = run.one(SECRET, "redis")
    assert is_secret(password.inputs["stringData"]) and set(unwrap(password.inputs["stringData"])) == {"password"}
    volumes = {v["name"]: v for v in ss["template"]["spec"]["volumes"]}
    assert volumes["auth"]["secret"] == {"secretName": password.inputs["metadata"].get("name") or
                                         volumes["auth"]["secret"]["secretName"], "defaultMode": 0o440}
    assert volumes["auth"]["secret"]["secretName"].startswith("redis-")
    assert {"name": "auth", "mountPath": "/etc/redis-auth", "readOnly": True} in c["volumeMounts"]
    ping = 'REDISCLI_AUTH="$(cat /etc/redis-auth/password)" redis-cli --tls --cacert /etc/redis-tls/ca.crt ping | grep -q PONG'
    assert c["startupProbe"]["exec"]["command"][-1] == c["readinessProbe"]["exec"]["command"][-1] == ping
    # Alive while it serves the certificate on disk: a renewed one restarts it, which loads it.
    assert c["livenessProbe"]["exec"]["command"][-1] == f"sha256sum -c /tmp/tls.crt.sha256 >/dev/null 2>&1 && {ping}"
    assert volumes["tls"]["secret"] == {"secretName": f"berth-{TIERS[tier]}-redis-tls", "defaultMode": 0o440}
    assert {"name": "tls", "mountPath": "/etc/redis-tls", "readOnly": True} in c["volumeMounts"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True and c["securityContext"]["runAsUser"] == 10001
    claim = ss["volumeClaimTemplates"][0]["spec"]
    assert claim["resources"]["requests"]["storage"] == {"dev": "1Gi", "prod": "5Gi"}[tier]
    assert {"name": "data", "mountPath": "/data"} in c["volumeMounts"]


def test_edge_tls_redirect_and_rate_limit(runs):
    for tier, run in runs.items():
        ingress = run.one(INGRESS).inputs
        host = {"dev": "berth.localhost", "prod": "api.example.com"}[tier]
        prefix = f"berth-{TIERS[tier]}"
        assert ingress["spec"]["ingressClassName"] == "nginx"
        assert ingress["spec"]["tls"] == [{"hosts": [host], "secretName": f"{prefix}-tls"}]
        notes = ingress["metadata"]["annotations"]
        assert notes["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
        assert notes["nginx.ingress.kubernetes.io/limit-rpm"] == "400"  # 2000 per 5 minutes
        assert ingress["spec"]["rules"] == [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": f"{prefix}-api", "port": {"name": "http"}}}}]}}]
        cert = run.one(CERTIFICATE, "certificate").inputs["spec"]
        assert cert["dnsNames"] == [host] and cert["secretName"] == f"{prefix}-tls"
        assert cert["issuerRef"] == {"name": {"dev": "selfsigned", "prod": "letsencrypt-prod"}[tier],
                                     "kind": "ClusterIssuer", "group": "cert-manager.io"}
        assert run.outputs["url"] == f"https://{host}"


@pytest.mark.parametrize("tier", TIERS)
def test_alerts_from_the_spec_thresholds(runs, tier):
    run = runs[tier]
    rule = run.one(RULE).inputs
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    [group] = rule["spec"]["groups"]
    alerts = {r["alert"]: r for r in group["rules"]}
    assert set(alerts) == {"api-error-rate", "api-p95-latency", "api-down", "api-unhealthy", "api-no-replicas",
                           "api-cpu", "api-memory", "worker-unhealthy", "worker-no-replicas", "worker-cpu",
                           "worker-memory", "database-free-storage", "database-cpu"}
    prefix = f"berth-{TIERS[tier]}"
    for r in alerts.values():
        assert r["labels"]["berth_stack"] == prefix and r["labels"]["severity"] in ("critical", "warning")
        # The operator routes an AlertmanagerConfig only alerts with its namespace; sum(…) keeps none.
        assert r["labels"]["namespace"] == prefix
    err = alerts["api-error-rate"]
    assert err["expr"].endswith("> 10") and err["for"] == "5m" and 'status=~"5.."' in err["expr"]
    assert f'service="{prefix}-api"' in err["expr"]
    assert "histogram_quantile(0.95" in alerts["api-p95-latency"]["expr"] and alerts["api-p95-latency"]["expr"].endswith("> 10")
    assert "api_request_duration_seconds_bucket" in alerts["api-p95-latency"]["expr"]
    assert alerts["api-down"]["for"] == "3m" and alerts["api-unhealthy"]["for"] == "3m"
    cpu = {"dev": 85, "prod": 80}[tier]
    assert alerts["worker-cpu"]["expr"].endswith(f"> {cpu}") and alerts["api-memory"]["expr"].endswith(f"> {cpu}")
    assert alerts["database-free-storage"]["expr"].endswith(f"< {1024 ** 3}")
    assert f'persistentvolumeclaim=~"{prefix}-postgres-[0-9]+"' in alerts["database-free-storage"]["expr"]
    monitor = run.one(MONITOR).inputs["spec"]
    assert monitor["endpoints"][0]["path"] == "/metrics" and monitor["endpoints"][0]["port"] == "http"
    assert monitor["selector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    dashboard = run.one(CONFIGMAP, "dashboard").inputs
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    body = json.loads(dashboard["data"][f"{prefix}.json"])
    titles = [p["title"] for p in body["panels"]]
    assert titles == ["Requests", "Errors (5xx)", "Response time", "api: CPU and memory (% of limit)",
                      "worker: CPU and memory (% of limit)", "Database connections"]
    assert [t["legendFormat"] for t in body["panels"][2]["targets"]] == ["p50", "p95", "p99"]


def test_alerts_reach_the_stack_s_email_through_an_alertmanager_config(runs):
    run = runs["prod"]
    config = run.one(AM_CONFIG)
    prefix = "berth-k8s-prod"
    assert config.inputs["metadata"]["namespace"] == prefix and config.inputs["metadata"]["name"] == f"{prefix}-alerts"
    # What the cluster's Alertmanager selects it by (alertmanagerConfigSelector), as the rules are.
    assert config.inputs["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    spec = config.inputs["spec"]
    route = spec["route"]
    assert route["matchers"] == [{"name": "berth_stack", "value": prefix, "matchType": "="}]
    assert {r["labels"]["berth_stack"] for r in run.one(RULE).inputs["spec"]["groups"][0]["rules"]} == {prefix}
    assert route["receiver"] == "email" and route["groupBy"] == ["alertname", "berth_service"]
    assert spec["receivers"] == [{"name": "email", "emailConfigs": [{"to": "oncall@example.com", "sendResolved": True}]}]
    assert not runs["dev"].by_type(AM_CONFIG)  # no alerts.email in dev: the rules alert, nobody is told


@pytest.mark.parametrize("tier", TIERS)
def test_outputs_and_no_secret_in_plain_text(runs, tier):
    run = runs[tier]
    prefix = f"berth-{TIERS[tier]}"
    assert run.outputs == {"url": run.outputs["url"], "namespace": prefix,
                           "services": {"api": f"{prefix}-api", "worker": f"{prefix}-worker"}}
    assert run.secret_outputs == []
    secrets = {v for r in run.by_type(SECRET) for v in unwrap(r.inputs["stringData"]).values()}
    assert len(secrets) == 3  # SECRET_KEY, REDIS_URL, the Redis password
    plan = json.dumps([r.masked_inputs() for r in run.records] + [masked(run.outputs)], default=str)
    for value in secrets:
        assert value not in plan
    for rec in run.by_type(DEPLOYMENT) + run.by_type(JOB) + run.by_type(STATEFULSET):
        assert not is_secret(rec.inputs["spec"])  # nothing secret in a pod spec: references only
