"""Each rule of the policy pack, on every target it covers: a resource that passes and one that fails.

The props are hand-built the way each provider registers them (pulumi-aws, pulumi-gcp,
pulumi-kubernetes, pulumi-docker input names), and read through the engine's own proxy, so an
adapter that treats them as plain dicts fails here as it would under `pulumi preview`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from pulumi_policy.proxy import unknown_checking_proxy

from infra.policy import pack

pack()
from berth_policy.adapters import facts  # noqa: E402
from berth_policy.facts import Resource  # noqa: E402
from berth_policy.rules import RULES, TARGETS, secret_looking  # noqa: E402

BY_NAME = {r.name: r for r in RULES}
DIGEST = "@sha256:" + "ab" * 32
RANDOM_KEY = "Zq8vN2xK7pL4mR9tW3yB6cF1hJ5gD0sA"  # 32 random alphanumerics


def res(type_: str, name: str, props: dict[str, Any], protect: bool = False, **deps: list[Resource]) -> Resource:
    return Resource(type=type_, name=name, urn=f"urn:pulumi:test::berth::{type_}::{name}",
                    props=unknown_checking_proxy(props), protect=protect, deps={k: tuple(v) for k, v in deps.items()})


def violations(rule_name: str, resources: list[Resource]) -> list[tuple[str, str]]:
    """(resource name, message) for every violation of the rule, run the way the pack runs it."""
    rule = BY_NAME[rule_name]
    groups = [resources] if rule.whole_stack else [[r] for r in resources]
    return [(fact.resource.name, message) for group in groups
            for fact in facts(group, whole_stack=rule.whole_stack) for message in rule.check(fact)]


@dataclass
class Case:
    rule: str
    target: str
    good: list[Resource]
    bad: list[Resource]
    expect: str  # a word the failing message must contain
    bad_names: set[str] = field(default_factory=set)  # which resources must be named (default: all of bad)

    def __str__(self) -> str:
        return f"{self.rule}-{self.target}-{self.expect.replace(' ', '_')}"


# ------------------------------------------------------------------------------------------------
# aws

RDS = "aws:rds/instance:Instance"
PG = "aws:rds/parameterGroup:ParameterGroup"
RG = "aws:elasticache/replicationGroup:ReplicationGroup"
TD = "aws:ecs/taskDefinition:TaskDefinition"
SG = "aws:ec2/securityGroup:SecurityGroup"
SGI = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LB = "aws:lb/loadBalancer:LoadBalancer"
LST = "aws:lb/listener:Listener"
LOG = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUB = "aws:sns/topicSubscription:TopicSubscription"
ECS_SERVICE = "aws:ecs/service:Service"

rds_good = {"engine": "postgres", "engineVersion": "16", "publiclyAccessible": False, "storageEncrypted": True,
            "backupRetentionPeriod": 14.0, "deletionProtection": True}


def task(**container: Any) -> dict:
    import json
    base = {"name": "api", "image": f"123.dkr.ecr.us-east-1.amazonaws.com/berth{DIGEST}", "user": "10001:10001",
            "portMappings": [{"containerPort": 8000}], "healthCheck": {"command": ["CMD", "true"]},
            "environment": [{"name": "LOG_LEVEL", "value": "info"}]}
    base.update(container)
    return {"family": "berth-prod-api", "cpu": "1024", "memory": "2048", "containerDefinitions": json.dumps([base])}


alb_sg, tasks_sg = res(SG, "alb", {"name": "alb"}), res(SG, "tasks", {"name": "tasks"})
alb = res(LB, "alb", {"internal": False}, securityGroups=[alb_sg])
topic = res(TOPIC, "alerts", {"name": "berth-prod-alerts"})
ecs_service = res(ECS_SERVICE, "api-service", {"name": "berth-prod-api"})
alarm = res(ALARM, "error-rate", {"alarmActions": ["arn:aws:sns:us-east-1:1:berth-prod-alerts"]}, alarmActions=[topic])
subscription = res(SUB, "email", {"protocol": "email", "endpoint": "oncall@example.com"}, topic=[topic])

AWS = [
    Case("berth-data-private", "aws", [res(RDS, "db", rds_good)],
         [res(RDS, "db", {**rds_good, "publiclyAccessible": True})], "internet"),
    Case("berth-data-encrypted", "aws", [res(RDS, "db", rds_good)],
         [res(RDS, "db", {**rds_good, "storageEncrypted": False})], "at rest"),
    Case("berth-data-encrypted", "aws",
         [res(PG, "params", {"family": "postgres16", "parameters": [{"name": "rds.force_ssl", "value": "1"}]}),
          res(PG, "params15", {"family": "postgres15"})],  # 15+ forces TLS by default
         [res(PG, "params", {"family": "postgres16", "parameters": [{"name": "rds.force_ssl", "value": "0"}]}),
          res(PG, "params14", {"family": "postgres14"}),
          res(RDS, "old", {**rds_good, "engineVersion": "14.9"})], "without TLS"),
    Case("berth-data-encrypted", "aws",
         [res(RG, "redis", {"atRestEncryptionEnabled": True, "transitEncryptionEnabled": True})],
         [res(RG, "redis", {"atRestEncryptionEnabled": True, "transitEncryptionEnabled": False}),
          res(RG, "preferred", {"atRestEncryptionEnabled": True, "transitEncryptionEnabled": True,
                                "transitEncryptionMode": "preferred"})], "without TLS"),
    Case("berth-data-backups", "aws", [res(RDS, "db", rds_good)],
         [res(RDS, "db", {**rds_good, "backupRetentionPeriod": 1.0}),
          res(RDS, "unprotected", {**rds_good, "deletionProtection": False})], "backups 1 day"),
    Case("berth-data-backups", "aws", [res(RDS, "db", rds_good)],
         [res(RDS, "db", {**rds_good, "backupRetentionPeriod": 0.0, "deletionProtection": False})],
         "point-in-time"),
    Case("berth-containers-hardened", "aws", [res(TD, "api", task())],
         [res(TD, "root", task(user="")), res(TD, "priv", task(privileged=True)),
          res(TD, "blind", task(healthCheck=None))], "container api"),
    Case("berth-no-plaintext-secrets", "aws", [res(TD, "api", task())],
         [res(TD, "named", task(environment=[{"name": "DB_PASSWORD", "value": "hunter2"}])),
          res(TD, "entropy", task(environment=[{"name": "UPSTREAM_ID", "value": RANDOM_KEY}]))],
         "plain environment value"),
    Case("berth-log-retention", "aws", [res(LOG, "logs", {"name": "/berth/api", "retentionInDays": 90.0})],
         [res(LOG, "logs", {"name": "/berth/api"})], "forever"),
    Case("berth-images-pinned", "aws", [res(TD, "api", task())],
         [res(TD, "api", task(image="123.dkr.ecr.us-east-1.amazonaws.com/berth:latest"))], "not pinned"),
    Case("berth-tls-only", "aws",
         [alb, res(LST, "https", {"protocol": "HTTPS", "port": 443.0,
                                  "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}, loadBalancerArn=[alb]),
          res(LST, "http", {"protocol": "HTTP", "port": 80.0, "defaultActions": [
              {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443"}}]}, loadBalancerArn=[alb])],
         [alb, res(LST, "http", {"protocol": "HTTP", "port": 80.0, "defaultActions": [{"type": "forward"}]},
                   loadBalancerArn=[alb]),
          res(LST, "old-tls", {"protocol": "HTTPS", "port": 443.0, "sslPolicy": "ELBSecurityPolicy-2016-08"},
              loadBalancerArn=[alb])], "without TLS", bad_names={"http", "old-tls"}),
    Case("berth-no-world-ingress", "aws",
         [alb, alb_sg, res(SGI, "alb-in-443", {"ipProtocol": "tcp", "fromPort": 443.0, "toPort": 443.0,
                                               "cidrIpv4": "0.0.0.0/0"}, securityGroupId=[alb_sg])],
         [alb, alb_sg, tasks_sg,
          res(SGI, "ssh", {"ipProtocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrIpv4": "0.0.0.0/0"},
              securityGroupId=[alb_sg]),
          res(SGI, "tasks-https", {"ipProtocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "cidrIpv4": "0.0.0.0/0"},
              securityGroupId=[tasks_sg]),
          res(SG, "inline", {"ingress": [{"protocol": "-1", "fromPort": 0.0, "toPort": 0.0,
                                          "cidrBlocks": ["0.0.0.0/0"]}]})],
         "internet", bad_names={"ssh", "tasks-https", "inline"}),
    Case("berth-alerting", "aws", [ecs_service, topic, alarm, subscription],
         [ecs_service, topic, alarm], "no notification target", bad_names={"error-rate"}),
    Case("berth-alerting", "aws", [ecs_service, topic, alarm, subscription], [ecs_service], "nothing that alerts",
         bad_names={"api-service"}),
]

# ------------------------------------------------------------------------------------------------
# gcp

SQL = "gcp:sql/databaseInstance:DatabaseInstance"
REDIS = "gcp:redis/instance:Instance"
RUN = "gcp:cloudrunv2/service:Service"
POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
JOB = "gcp:cloudrunv2/job:Job"
FW = "gcp:compute/firewall:Firewall"
HTTP_PROXY = "gcp:compute/targetHttpProxy:TargetHttpProxy"
HTTPS_PROXY = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
URL_MAP = "gcp:compute/uRLMap:URLMap"
SSL_POLICY = "gcp:compute/sSLPolicy:SSLPolicy"
ALERT_POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"

sql_settings = {
    "tier": "db-custom-2-7680", "deletionProtectionEnabled": True,
    "ipConfiguration": {"ipv4Enabled": False, "privateNetwork": "projects/p/global/networks/n",
                        "sslMode": "ENCRYPTED_ONLY"},
    "backupConfiguration": {"enabled": True, "pointInTimeRecoveryEnabled": True,
                            "backupRetentionSettings": {"retainedBackups": 14.0, "retentionUnit": "COUNT"}},
}


def sql(**settings: Any) -> dict:
    return {"databaseVersion": "POSTGRES_16", "settings": {**sql_settings, **settings}}


def run_container(**c: Any) -> dict:
    base = {"image": f"us-docker.pkg.dev/p/berth/app{DIGEST}", "ports": {"containerPort": 8000.0},
            "resources": {"limits": {"cpu": "1", "memory": "2Gi"}}, "startupProbe": {"httpGet": {"path": "/liveness"}},
            "livenessProbe": {"httpGet": {"path": "/liveness"}},
            "envs": [{"name": "LOG_LEVEL", "value": "info"},
                     {"name": "SECRET_KEY", "valueSource": {"secretKeyRef": {"secret": "s", "version": "latest"}}}]}
    base.update(c)
    return base


def run_service(ingress: str = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", **c: Any) -> dict:
    return {"ingress": ingress, "template": {"containers": [run_container(**c)]}}


redirect_map = res(URL_MAP, "redirect", {"defaultUrlRedirect": {"httpsRedirect": True, "stripQuery": False}})
serving_map = res(URL_MAP, "serving", {"defaultService": "backend"})
modern_ssl = res(SSL_POLICY, "tls12", {"minTlsVersion": "TLS_1_2", "profile": "MODERN"})
channel = res(CHANNEL, "email", {"type": "email", "labels": {"email_address": "oncall@example.com"}})
cloud_run = res(RUN, "api", run_service())

GCP = [
    Case("berth-data-private", "gcp", [res(SQL, "db", sql())],
         [res(SQL, "db", sql(ipConfiguration={"ipv4Enabled": True, "sslMode": "ENCRYPTED_ONLY",
                                              "authorizedNetworks": [{"value": "0.0.0.0/0"}]})),
          res(SQL, "default-ip", sql(ipConfiguration={"sslMode": "ENCRYPTED_ONLY"}))], "internet"),
    Case("berth-data-encrypted", "gcp", [res(SQL, "db", sql()), res(REDIS, "redis", {
        "tier": "STANDARD_HA", "transitEncryptionMode": "SERVER_AUTHENTICATION"})],
         [res(SQL, "db", sql(ipConfiguration={"ipv4Enabled": False, "sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED"})),
          res(REDIS, "redis", {"tier": "STANDARD_HA", "transitEncryptionMode": "DISABLED"})], "without TLS"),
    Case("berth-data-backups", "gcp", [res(SQL, "db", sql())],
         [res(SQL, "db", sql(backupConfiguration={"enabled": False}, deletionProtectionEnabled=False))],
         "backups 0 day"),
    Case("berth-data-backups", "gcp", [res(SQL, "db", sql())],
         [res(SQL, "db", sql(backupConfiguration={"enabled": True, "pointInTimeRecoveryEnabled": False}))],
         "point-in-time"),
    Case("berth-containers-hardened", "gcp", [cloud_run, res(POOL, "worker", {"template": {"containers": [
        run_container(ports=None, startupProbe=None, livenessProbe=None)]}})],
         [res(RUN, "api", run_service(startupProbe=None, livenessProbe=None)),
          res(POOL, "worker", {"template": {"containers": [run_container(resources=None)]}}),
          res(JOB, "migrate", {"template": {"template": {"containers": [run_container(resources={})]}}})],
         "container"),
    Case("berth-no-plaintext-secrets", "gcp", [cloud_run],
         [res(RUN, "api", run_service(envs=[{"name": "UPSTREAM_ID", "value": RANDOM_KEY}])),
          res(RUN, "url", run_service(envs=[{"name": "UPSTREAM", "value": "postgresql://app:pw@10.0.0.3/app"}]))],
         "plain environment value"),
    Case("berth-images-pinned", "gcp", [cloud_run],
         [res(RUN, "api", run_service(image="us-docker.pkg.dev/p/berth/app:v1"))], "not pinned"),
    Case("berth-tls-only", "gcp",
         [redirect_map, modern_ssl, res(HTTP_PROXY, "http", {}, urlMap=[redirect_map]),
          res(HTTPS_PROXY, "https", {}, sslPolicy=[modern_ssl])],
         [serving_map, res(HTTP_PROXY, "http", {}, urlMap=[serving_map]), res(HTTPS_PROXY, "https", {})],
         "without TLS", bad_names={"http", "https"}),
    Case("berth-no-world-ingress", "gcp",
         [cloud_run, res(FW, "internal", {"sourceRanges": ["10.0.0.0/8"], "allows": [{"protocol": "tcp",
                                                                                       "ports": ["5432"]}]})],
         [res(FW, "ssh", {"sourceRanges": ["0.0.0.0/0"], "allows": [{"protocol": "tcp", "ports": ["22"]}]}),
          res(FW, "web", {"sourceRanges": ["0.0.0.0/0"], "allows": [{"protocol": "tcp", "ports": ["443"]}]}),
          res(RUN, "api", run_service(ingress="INGRESS_TRAFFIC_ALL"))], "internet"),
    Case("berth-alerting", "gcp",
         [cloud_run, channel, res(ALERT_POLICY, "error-rate", {"notificationChannels": ["c"]},
                                  notificationChannels=[channel])],
         [cloud_run, res(ALERT_POLICY, "error-rate", {"notificationChannels": []})], "no notification target",
         bad_names={"error-rate"}),
]

# ------------------------------------------------------------------------------------------------
# kubernetes

DEPLOY = "kubernetes:apps/v1:Deployment"
STS = "kubernetes:apps/v1:StatefulSet"
SVC = "kubernetes:core/v1:Service"
ING = "kubernetes:networking.k8s.io/v1:Ingress"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CM = "kubernetes:core/v1:ConfigMap"
CNPG = "kubernetes:postgresql.cnpg.io/v1:Cluster"
STORE = "kubernetes:barmancloud.cnpg.io/v1:ObjectStore"
PROM_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
AM_CONFIG = "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig"


def k8s_container(**c: Any) -> dict:
    base = {"name": "api", "image": f"ghcr.io/acme/berth{DIGEST}", "ports": [{"containerPort": 8000}],
            "readinessProbe": {"httpGet": {"path": "/readiness", "port": 8000}},
            "livenessProbe": {"httpGet": {"path": "/liveness", "port": 8000}},
            "resources": {"limits": {"memory": "2Gi"}, "requests": {"cpu": "1", "memory": "2Gi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
            "env": [{"name": "LOG_LEVEL", "value": "info"},
                    {"name": "SECRET_KEY", "valueFrom": {"secretKeyRef": {"name": "app", "key": "SECRET_KEY"}}}]}
    base.update(c)
    return base


def deployment(pod_security: dict | None = None, **c: Any) -> dict:
    sc = {"runAsNonRoot": True, "runAsUser": 10001} if pod_security is None else pod_security
    return {"metadata": {"name": "api"}, "spec": {"selector": {"matchLabels": {"app": "api"}}, "template": {
        "metadata": {"labels": {"app": "api"}}, "spec": {"securityContext": sc, "containers": [k8s_container(**c)]}}}}


def redis_sts(args: list[str]) -> dict:
    return {"spec": {"template": {"spec": {"securityContext": {"runAsUser": 999}, "containers": [k8s_container(
        name="redis", image=f"redis{DIGEST}", args=args, ports=[{"containerPort": 6379}])]}}}}


cnpg_good = {"spec": {"instances": 3, "postgresql": {"pg_hba": ["hostnossl all all 0.0.0.0/0 reject"]},
                      "backup": {"retentionPolicy": "30d", "barmanObjectStore": {"destinationPath": "s3://b/"}}}}
ingress_good = {"metadata": {"annotations": {}}, "spec": {"tls": [{"hosts": ["api.example.com"], "secretName": "t"}],
                                                         "rules": [{"host": "api.example.com"}]}}
k8s_api = res(DEPLOY, "api", deployment())
prom_rule = res(PROM_RULE, "alerts", {"spec": {"groups": [{"name": "berth", "rules": [
    {"alert": "BerthErrorRate", "expr": "x > 0.1"}, {"record": "berth:requests:rate5m", "expr": "y"}]}]}})

K8S = [
    Case("berth-data-private", "kubernetes", [res(CNPG, "db", cnpg_good)],
         [res(CNPG, "db", {"spec": {**cnpg_good["spec"], "managed": {"services": {"additional": [
             {"selectorType": "rw", "serviceTemplate": {"metadata": {"name": "db-lb"},
                                                        "spec": {"type": "LoadBalancer"}}}]}}}}),
          res(SVC, "redis-lb", {"spec": {"type": "LoadBalancer", "ports": [{"port": 6379}]}})], "internet"),
    Case("berth-data-encrypted", "kubernetes",
         [res(CNPG, "db", cnpg_good), res(STS, "redis", redis_sts(["--tls-port", "6379", "--port", "0"]))],
         [res(CNPG, "db", {"spec": {**cnpg_good["spec"], "postgresql": {}}}),
          res(STS, "redis", redis_sts(["--port", "6379"]))], "without TLS"),
    Case("berth-data-backups", "kubernetes",
         [res(CNPG, "db", cnpg_good, protect=True), res(STORE, "backups", {"spec": {"retentionPolicy": "4w"}})],
         [res(CNPG, "db", {"spec": {"instances": 1}}), res(STORE, "backups", {"spec": {"retentionPolicy": "3d"}})],
         "backups"),
    Case("berth-data-backups", "kubernetes", [res(CNPG, "db", cnpg_good, protect=True)],
         [res(CNPG, "db", cnpg_good, protect=False)], "deletion protection"),
    Case("berth-containers-hardened", "kubernetes", [k8s_api],
         [res(DEPLOY, "root", deployment(pod_security={})),
          res(DEPLOY, "uid0", deployment(pod_security={"runAsUser": 0})),
          res(DEPLOY, "blind", deployment(readinessProbe=None)),
          res(DEPLOY, "unbounded", deployment(resources={"requests": {"cpu": "1"}})),
          res(DEPLOY, "priv", deployment(securityContext={"privileged": True}))], "container api"),
    Case("berth-no-plaintext-secrets", "kubernetes", [k8s_api, res(CM, "config", {"data": {"LOG_LEVEL": "info"}})],
         [res(DEPLOY, "api", deployment(env=[{"name": "UPSTREAM_ID", "value": RANDOM_KEY}])),
          res(CM, "config", {"data": {"OPENAI_API_KEY": "sk-proj-abcdefghijklmnopqrstuvwx"}})], "plain"),
    Case("berth-images-pinned", "kubernetes", [k8s_api, res(CNPG, "db", {"spec": {"imageName": f"pg{DIGEST}"}})],
         [res(DEPLOY, "api", deployment(image="ghcr.io/acme/berth:latest")),
          res(CNPG, "db", {"spec": {"imageName": "ghcr.io/cloudnative-pg/postgresql:16"}})], "not pinned"),
    Case("berth-tls-only", "kubernetes", [res(ING, "api", ingress_good)],
         [res(ING, "plain", {"spec": {"rules": [{"host": "api.example.com"}]}}),
          res(ING, "no-redirect", {**ingress_good, "metadata": {"annotations": {
              "nginx.ingress.kubernetes.io/ssl-redirect": "false"}}})], "without TLS"),
    Case("berth-no-world-ingress", "kubernetes",
         [res(SVC, "api", {"spec": {"type": "ClusterIP", "ports": [{"port": 80}]}}),
          res(NETPOL, "api", {"spec": {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}})],
         [res(SVC, "api", {"spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}}),
          res(NETPOL, "open", {"spec": {"ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                                                     "ports": [{"port": 8000}]}]}}),
          res(DEPLOY, "hostport", deployment(ports=[{"containerPort": 8000, "hostPort": 8000}]))], "internet"),
    Case("berth-alerting", "kubernetes",
         [k8s_api, prom_rule, res(AM_CONFIG, "oncall", {"spec": {"route": {"receiver": "oncall"}, "receivers": [
             {"name": "oncall", "emailConfigs": [{"to": "oncall@example.com"}]}]}})],
         [k8s_api, prom_rule], "no notification target", bad_names={"alerts"}),
]

# ------------------------------------------------------------------------------------------------
# docker

CONTAINER = "docker:index/container:Container"
REMOTE = "docker:index/remoteImage:RemoteImage"


def container(**p: Any) -> dict:
    base = {"name": "berth-local-api", "image": "sha256:" + "cd" * 32, "user": "10001:10001", "memory": 512.0,
            "ports": [{"internal": 8000.0, "external": 8080.0, "ip": "127.0.0.1"}],
            "healthcheck": {"tests": ["CMD", "python", "-c", "..."]},
            "networksAdvanced": [{"name": "n", "aliases": ["api"]}]}
    base.update(p)
    return base


database_container = {"name": "berth-local-database", "image": "sha256:" + "ef" * 32, "memory": 512.0,
                      "networksAdvanced": [{"name": "n", "aliases": ["database"]}]}

DOCKER = [
    Case("berth-data-private", "docker", [res(CONTAINER, "postgres", database_container)],
         [res(CONTAINER, "postgres", {**database_container, "ports": [{"internal": 5432.0, "external": 5432.0}]})],
         "internet"),
    Case("berth-containers-hardened", "docker", [res(CONTAINER, "api", container())],
         [res(CONTAINER, "root", container(user=None)), res(CONTAINER, "priv", container(privileged=True)),
          res(CONTAINER, "host", container(networkMode="host")),
          res(CONTAINER, "blind", container(healthcheck={"tests": ["NONE"]})),
          res(CONTAINER, "unbounded", container(memory=None))], "container"),
    Case("berth-images-pinned", "docker", [res(REMOTE, "postgres", {"name": f"postgres:16-alpine{DIGEST}"})],
         [res(REMOTE, "postgres", {"name": "postgres:16-alpine"})], "not pinned"),
    Case("berth-tls-only", "docker", [res(CONTAINER, "api", container())],
         [res(CONTAINER, "api", container(ports=[{"internal": 8000.0, "external": 8080.0, "ip": "0.0.0.0"}]))],
         "without TLS"),
    Case("berth-no-world-ingress", "docker", [res(CONTAINER, "api", container())],
         [res(CONTAINER, "api", container(ports=[{"internal": 8000.0, "external": 8080.0}]))], "internet"),
]

CASES = AWS + GCP + K8S + DOCKER


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_passes_the_good_resource_and_names_the_bad_one(case: Case) -> None:
    assert violations(case.rule, case.good) == []
    found = violations(case.rule, case.bad)
    expected = case.bad_names or {r.name for r in case.bad}
    assert {name for name, _ in found} == expected, found
    assert any(case.expect in message for _, message in found), found


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_every_rule_is_tested_on_every_target_it_covers(rule) -> None:
    tested = {c.target for c in CASES if c.rule == rule.name}
    assert tested == set(rule.covers), f"{rule.name}: tested on {sorted(tested)}, covers {rule.covers}"
    assert set(rule.covers) | set(rule.gaps) == set(TARGETS)
    assert all(reason for reason in rule.gaps.values())


@pytest.mark.parametrize("name, value, secret", [
    ("LOG_LEVEL", "info", False),
    ("ALLOWED_ORIGINS", "https://app.example.com,https://admin.example.com", False),
    ("TLS_POLICY", "ELBSecurityPolicy-TLS13-1-2-2021-06", False),
    ("GIT_SHA", "3f786850e387550fdab836ed7e6dc881de23001b", False),
    ("IMAGE", "123456789012.dkr.ecr.us-east-1.amazonaws.com/berth-prod", False),
    ("UPSTREAM_ID", RANDOM_KEY, True),
    ("SIGNING", "3f786850e387550fdab836ed7e6dc881de23001b9a2c", True),  # hex, not named as a build id
    ("OPENAI", "sk-proj-abcdefghijklmnop", True),
    ("DSN", "postgresql://app:hunter2@db:5432/app", True),
    ("STRIPE_TOKEN", "x", True),
])
def test_secret_looking_values(name: str, value: str, secret: bool) -> None:
    assert (secret_looking(name, value) is not None) == secret
