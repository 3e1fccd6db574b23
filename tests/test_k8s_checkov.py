"""checkov on the manifests `plan --render-dir` writes, for both tiers and a stack with two web
services and two workers. checkov runs from its own virtualenv (`make .venv-checkov/.installed`,
which `make test` builds): it pins an old botocore the program's tests must not share.

No check may fail except the documented ones below, each only on the objects named, with its reason
(docs/targets/kubernetes.md lists the same).
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from infra.config import ROOT
from infra.mocks import run_program, run_stack
from infra.plan import write_render_dir
from tests.k8s import TIERS, TWO_AND_TWO, config, skip_or_fail

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"

# check id → (the objects it may fail on, as a regex on checkov's "<Kind>.<namespace>.<name>"; why)
ACCEPTED = {
    "CKV_K8S_35": (r"(Deployment|Job)\..*", "secrets reach the app as env via secretKeyRef: the service reads its "
                   "configuration (DATABASE_URL, SECRET_KEY, …) from the environment, as on every target"),
    "CKV_K8S_8": (r"Deployment\..*-(worker|mailer)", "workers serve no HTTP, so there is no endpoint to probe; "
                  "a crashed worker exits and is restarted"),
    "CKV_K8S_9": (r"Deployment\..*-(worker|mailer)", "workers take no traffic, so readiness has no meaning"),
}


def scan(run, directory) -> list[tuple[str, str]]:
    write_render_dir(run, directory)
    # --skip-download: nothing is fetched from Prisma Cloud; the checks are all local.
    result = subprocess.run([str(CHECKOV), "-d", str(directory), "--framework", "kubernetes", "--skip-download",
                             "--quiet", "-o", "json"], capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 1), result.stderr
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert sum(r["summary"]["resource_count"] for r in reports) >= 25
    assert all(r["summary"]["parsing_errors"] == 0 for r in reports)
    return [(f["check_id"], f["resource"]) for r in reports for f in r["results"]["failed_checks"]]


@pytest.fixture(scope="module")
def checkov():
    if not CHECKOV.exists():
        skip_or_fail(f"checkov not installed at {CHECKOV} (make .venv-checkov/.installed)")
    return CHECKOV


@pytest.mark.parametrize("name", ["dev", "prod", "two-and-two"])
def test_checkov_fails_nothing_but_the_documented_checks(checkov, tmp_path, name):
    run = (run_program("k8s-prod", config("k8s-prod", services=TWO_AND_TWO)) if name == "two-and-two"
           else run_stack(TIERS[name]))
    failed = scan(run, tmp_path)
    unexpected = [(check, res) for check, res in failed
                  if check not in ACCEPTED or not re.fullmatch(ACCEPTED[check][0], res)]
    assert unexpected == []
    assert {c for c, _ in failed} <= set(ACCEPTED)


def test_checkov_catches_what_it_is_for(checkov, tmp_path):
    """A privileged, root container must fail: the scan is live, not a formality."""
    run = run_stack("k8s-dev")
    deployment = next(r for r in run.records if r.type == "kubernetes:apps/v1:Deployment")
    security = deployment.inputs["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    security.update(privileged=True, runAsUser=0, runAsNonRoot=False, allowPrivilegeEscalation=True)
    failed = {check for check, res in scan(run, tmp_path) if res.endswith(deployment.inputs["metadata"]["name"])}
    assert {"CKV_K8S_16", "CKV_K8S_20"} <= failed


def test_each_accepted_check_is_documented():
    doc = (ROOT / "docs" / "targets" / "kubernetes.md").read_text()
    for check in ACCEPTED:
        assert f"`{check}`" in doc, check
