"""`plan --check` and `plan --diff` as a user runs them, and the secret-leak scan on its own."""

from __future__ import annotations

import json
import subprocess
import sys

import pulumi
import pulumi_docker as docker
import pulumi_random as random
import pytest

from infra import check, mocks
from infra.config import ROOT
from infra.diff import changed_paths, diff, forcing
from infra.plan import as_json


def plan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infra", "plan", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("stack", mocks.shipped_stacks())
def test_every_shipped_stack_passes_check(stack: str) -> None:
    result = plan("--stack", stack, "--check")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    lines = result.stdout.split("\nChecks:\n", 1)[1].splitlines()
    assert lines and all(line.split()[0] in ("passed", "skipped") for line in lines), lines
    assert sum(line.split()[0] == "passed" and "policy berth-" in line for line in lines) >= 5
    assert any(line.startswith("    passed   secret-leak scan") for line in lines)


def test_make_plan_check_maps_to_the_flag() -> None:
    dry = subprocess.run(["make", "-n", "plan", "STACK=prod", "CHECK=1"], cwd=ROOT, capture_output=True, text=True)
    assert "-m infra plan --stack prod --check" in dry.stdout, dry.stdout
    dry = subprocess.run(["make", "-n", "plan", "STACK=prod"], cwd=ROOT, capture_output=True, text=True)
    assert "--check" not in dry.stdout


# ------------------------------------------------------------------------------------------------
# The secret-leak scan must be able to fail.

def leaky_program() -> None:
    password = random.RandomPassword("database-password", length=24)
    config = pulumi.Config("berth")
    docker.Container(
        "api", image="x",
        command=["serve", pulumi.Output.unsecret(password.result).apply(lambda v: f"--db-password={v}")],  # a leak
        envs=[config.require_secret("OPENAI_API_KEY").apply(lambda v: f"OPENAI_API_KEY={v}")])  # a secret: fine
    pulumi.export("dsn", pulumi.Output.unsecret(password.result))


def test_leak_scan_finds_a_secret_outside_a_secret() -> None:
    run = mocks.run_program("leaky", {"berth:OPENAI_API_KEY": {"secure": "AAAB"}}, program=leaky_program)
    found = check.leaks(run, printed="")
    assert "the generated password 'database-password' is in plain text in docker:index/container:Container 'api' " \
           "inputs at command[1]" in found
    assert "the generated password 'database-password' is in plain text in stack output 'dsn'" in found
    assert not [f for f in found if "OPENAI_API_KEY" in f]  # it stayed a secret
    key = check.secret_values(run)["config berth:OPENAI_API_KEY"]
    assert "the config berth:OPENAI_API_KEY is in the printed plan" in check.leaks(run, printed=f"x {key} y")
    lines = list(check.leak_lines(run, printed=""))
    assert {line.status for line in lines} == {"failed"}


# ------------------------------------------------------------------------------------------------
# --diff

def prod_with(**changes) -> dict:
    config = mocks.read_stack_config("prod")
    for key, value in changes.items():
        config[f"berth:{key}"] = value
    return config


@pytest.fixture(scope="module")
def prod_plans():
    old = as_json(mocks.run_stack("prod"))
    new = as_json(mocks.run_program("prod", prod_with(
        service_defaults={"scaling": {"cpu_target": 60}},  # an input changed in place
        database={"engine_version": "17"})))  # an input whose change forces a replacement
    return old, new


def test_diff_shows_the_update_and_the_replace_with_their_paths(prod_plans) -> None:
    changes = {(c.type, c.name): c for c in diff(*prod_plans)}
    cpu = changes[("aws:appautoscaling/policy:Policy", "api-cpu")]
    assert (cpu.op, cpu.paths, cpu.replacing) == ("update", ["targetTrackingScalingPolicyConfiguration.targetValue"], [])
    params = changes[("aws:rds/parameterGroup:ParameterGroup", "database")]
    assert params.op == "replace" and params.replacing == ["family", "name"] == params.paths
    # RDS upgrades a major in place (ModifyDBInstance), pointing at the new parameter group.
    rds = changes[("aws:rds/instance:Instance", "postgres")]
    assert (rds.op, rds.paths) == ("update", ["engineVersion", "parameterGroupName"]) and not rds.refused
    assert {c.op for c in changes.values()} == {"update", "replace"}
    assert len(changes) == 3, sorted(changes)


def test_diff_cli_against_an_older_plan(tmp_path, prod_plans) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps(prod_plans[1]))  # the plan with the changes: the shipped stack undoes them
    result = plan("--stack", "prod", "--diff", str(old))
    assert result.returncode == 0, result.stderr
    text = result.stdout.split("Diff against", 1)[1]
    assert " ~   update   aws:appautoscaling/policy:Policy  api-cpu" in text
    assert "~ targetTrackingScalingPolicyConfiguration.targetValue: 60 => 70" in text
    assert " +-  replace  aws:rds/parameterGroup:ParameterGroup  database" in text
    assert '~ family: "postgres17" => "postgres16"  (forces replacement)' in text
    assert "Changes: 0 to create, 2 to update, 1 to replace, 0 to delete" in text


def test_diff_of_a_replaced_protected_resource_is_refused(tmp_path) -> None:
    old = as_json(mocks.run_stack("prod"))
    for resource in old["resources"]:
        if resource["type"] == "aws:rds/instance:Instance":
            resource["inputs"]["dbName"] = "legacy"  # ForceNew: the protected database would be replaced
    (tmp_path / "old.json").write_text(json.dumps(old))
    result = plan("--stack", "prod", "--diff", str(tmp_path / "old.json"))
    assert result.returncode == 4
    assert "+-  replace  aws:rds/instance:Instance  postgres  [refused: the resource is protected]" in result.stdout


def test_diff_creates_and_deletes(prod_plans) -> None:
    old, new = prod_plans
    fewer = {**old, "resources": [r for r in old["resources"] if r["type"] != "aws:sns/topic:Topic"]}
    ops = {(c.op, c.type) for c in diff(fewer, new)}
    assert ("create", "aws:sns/topic:Topic") in ops
    ops = {(c.op, c.type) for c in diff(new, fewer)}
    assert ("delete", "aws:sns/topic:Topic") in ops


def test_diff_paths_and_replacement_table() -> None:
    old = {"a": {"b": [1, 2]}, "doc": json.dumps([{"image": "x@sha256:1"}])}
    new = {"a": {"b": [1, 3]}, "doc": json.dumps([{"image": "x@sha256:2"}])}
    assert list(changed_paths(old, new)) == ["a.b[1]", "doc[0].image"]
    assert forcing("aws:ecs/taskDefinition:TaskDefinition", ["containerDefinitions[0].image", "tags.x"]) == \
        ["containerDefinitions[0].image"]
    assert forcing("kubernetes:apps/v1:Deployment", ["metadata.name", "spec.replicas"]) == ["metadata.name"]
    assert forcing("aws:rds/instance:Instance", ["engineVersion", "identifier"]) == []


def test_diff_refuses_a_file_that_is_not_a_plan(tmp_path) -> None:
    (tmp_path / "x.json").write_text("[1, 2]")
    result = plan("--stack", "local", "--diff", str(tmp_path / "x.json"))
    assert result.returncode == 2 and "not a plan written by `plan --json`" in result.stderr
    result = plan("--stack", "local", "--diff", str(tmp_path / "missing.json"))
    assert result.returncode == 2 and "missing.json" in result.stderr


def test_api_model_line_fails_with_the_resource_and_reason() -> None:
    run = mocks.run_stack("prod")
    group = run.by_type("aws:lb/targetGroup:TargetGroup")[0]
    group.inputs["healthCheck"]["interval"] = 301.0  # ELB takes 5–300 s
    lines = list(check.api_model_lines(run))
    assert [line.status for line in lines] == ["failed"]
    assert f"aws:lb/targetGroup:TargetGroup '{group.name}'" in lines[0].detail and "301" in lines[0].detail


def test_api_model_is_skipped_with_a_reason_where_a_target_has_none() -> None:
    run = mocks.run_stack("local")
    assert [str(line) for line in check.api_model_lines(run)] == [
        "skipped  api-model docker: no infra/checks/docker.py for target docker yet"]



def test_api_model_says_what_it_could_not_check_and_ci_fails_it(monkeypatch, tmp_path) -> None:
    from infra.checks import kubernetes as k8s_checks
    run = mocks.run_stack("k8s-dev")
    custom = [r.inputs for r in run.records if r.custom and r.type.startswith("kubernetes:")
              and not k8s_checks.is_builtin(r.inputs.get("apiVersion", "v1"))]
    kinds = ", ".join(sorted({obj["kind"] for obj in custom}))
    monkeypatch.setattr(k8s_checks, "CRD_DIR", tmp_path)  # a worktree without ../shared/crds
    monkeypatch.delenv("CI", raising=False)
    lines = list(check.api_model_lines(run))
    assert [line.status for line in lines] == ["passed", "skipped"]  # the built-in kinds still validate
    assert lines[1].detail.startswith(f"{len(custom)} custom resources ({kinds}): not validated: "
                                      f"no CustomResourceDefinitions in {tmp_path}")
    monkeypatch.setenv("CI", "true")
    lines = list(check.api_model_lines(run))
    assert [line.status for line in lines] == ["passed", "failed"]
    assert lines[1].detail.endswith("(CI=true requires this check)")
