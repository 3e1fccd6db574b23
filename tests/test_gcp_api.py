"""The recorded gcp resources checked against Google's own API models (infra/checks/gcp.py): Cloud Run
as google.cloud.run_v2 messages, everything else against the bundled discovery documents."""

from __future__ import annotations

import copy

import pytest

from infra.checks import gcp as checks
from infra.mocks import read_stack_config, run_program, run_stack

STACKS = ("gcp-dev", "gcp-prod")
RUN_TYPES = {"gcp:cloudrunv2/service:Service": "Service", "gcp:cloudrunv2/workerPool:WorkerPool": "WorkerPool",
             "gcp:cloudrunv2/job:Job": "Job"}


@pytest.fixture(scope="module")
def runs():
    out = {stack: run_stack(stack) for stack in STACKS}
    cfg = read_stack_config("gcp-prod")
    cfg["berth:services"] = {"api": {"kind": "web"}, "admin": {"kind": "web", "port": 8001},
                             "worker": {"kind": "worker", "command": ["python", "-m", "app", "worker"]}}
    out["gcp-prod+more"] = run_program("gcp-prod", cfg)
    return out


def inputs(run, typ, name=None):
    return checks._plain(run.one(typ, name).inputs)


# ------------------------------------------------------------------------------------------------
# The models must be able to fail, or every check below proves nothing.

def test_run_v2_refuses_unknown_fields_and_wrong_types(runs):
    svc = inputs(runs["gcp-prod"], "gcp:cloudrunv2/service:Service")
    assert checks.run_problems("Service", svc) == []
    typo = copy.deepcopy(svc)
    typo["template"]["containers"][0]["startupProbe"]["periodSecond"] = 5
    assert "has no field named \"periodSecond\"" in checks.run_problems("Service", typo)[0]
    wrong = copy.deepcopy(svc)
    wrong["template"]["scaling"]["maxInstanceCount"] = "ten"
    assert checks.run_problems("Service", wrong)[0].startswith("not a valid run_v2.Service")
    enum = copy.deepcopy(svc)
    enum["ingress"] = "INGRESS_TRAFFIC_EVERYONE"
    assert "Invalid enum value" in checks.run_problems("Service", enum)[0]
    # A field of the provider that the API does not have must not slip through either.
    extra = copy.deepcopy(svc)
    extra["template"]["containers"][0]["resources"]["cpuBoost"] = True
    assert checks.run_problems("Service", extra)


def test_run_limits_beyond_the_message_types(runs):
    svc = inputs(runs["gcp-prod"], "gcp:cloudrunv2/service:Service")
    c = svc["template"]["containers"][0]
    c["envs"].append({"name": "PORT", "value": "8000"})
    c["startupProbe"]["periodSeconds"] = 300
    c["envs"][-2]["valueSource"]["secretKeyRef"]["version"] = "latest"
    c["resources"]["limits"]["cpu"] = "0.5"
    found = " | ".join(checks.run_problems("Service", svc))
    for text in ("env PORT is reserved", "startupProbe.periodSeconds 300", "not pinned to a version", "cpu '0.5'"):
        assert text in found, text
    job = inputs(runs["gcp-prod"], "gcp:cloudrunv2/job:Job")
    job["runExecutionToken"] = "x" * 40
    assert any("63 characters" in p for p in checks.run_problems("Job", job))


def test_discovery_walker_refuses_what_the_api_would():
    good = {"name": "berth-prod-edge", "type": "CLOUD_ARMOR", "rules": [
        {"priority": 1000, "action": "throttle", "match": {"versionedExpr": "SRC_IPS_V1",
                                                          "config": {"srcIpRanges": ["*"]}}}]}
    assert checks.schema_problems("compute.v1", "SecurityPolicy", good) == []
    cases = {
        "unknown field": {**good, "rule": []},
        "not one of": {**good, "type": "CLOUD_ARMOUR"},
        "expected an integer": {**good, "rules": [{**good["rules"][0], "priority": "first"}]},
        "outside int32": {**good, "rules": [{**good["rules"][0], "priority": 2 ** 40}]},
        "expected a list": {**good, "rules": good["rules"][0]},
        "output only": {**good, "selfLink": "https://example.invalid/x"},
    }
    for expected, body in cases.items():
        found = checks.schema_problems("compute.v1", "SecurityPolicy", body)
        assert any(expected in p for p in found), (expected, found)
    assert checks.schema_problems("sqladmin.v1", "Settings", {"dataDiskSizeGb": "ten"})
    assert checks.schema_problems("sqladmin.v1", "Settings", {"dataDiskSizeGb": 20}) == []
    assert checks.schema_problems("monitoring.v3", "Condition", {"conditionThreshold": {"duration": "5 min"}})
    assert checks._plain({"a": [1.0, 1.5, True]}) == {"a": [1, 1.5, True]}


# ------------------------------------------------------------------------------------------------
# Every recorded gcp resource, every stack.

@pytest.mark.parametrize("stack", [*STACKS, "gcp-prod+more"])
def test_every_gcp_resource_passes_its_api_model(runs, stack):
    run = runs[stack]
    assert checks.unchecked_types(run) == set()
    assert checks.check(run) == []


def test_every_cloud_run_workload_is_a_run_v2_message(runs):
    from google.cloud import run_v2
    seen = {kind: 0 for kind in RUN_TYPES.values()}
    for run in runs.values():
        for typ, kind in RUN_TYPES.items():
            for rec in run.by_type(typ):
                message = checks.run_message(kind, checks._plain(rec.inputs))
                assert isinstance(message, getattr(run_v2, kind))
                seen[kind] += 1
                if kind == "Service":
                    [c] = message.template.containers
                    assert message.ingress == run_v2.IngressTraffic.INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER
                    assert c.startup_probe.http_get.path == "/liveness" and c.liveness_probe.http_get.path == "/liveness"
                    assert message.template.vpc_access.egress == run_v2.VpcAccess.VpcEgress.PRIVATE_RANGES_ONLY
                    assert all(e.value_source.secret_key_ref.version.isdigit() for e in c.env if e.value_source)
                if kind == "WorkerPool":
                    [c] = message.template.containers
                    assert message.scaling.manual_instance_count >= 1 and not c.ports
                if kind == "Job":
                    assert message.run_execution_token and message.template.template.max_retries == 0
    assert seen == {"Service": 4, "WorkerPool": 1, "Job": 3}
