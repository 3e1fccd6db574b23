"""`python -m infra plan` as a user runs it."""

import json
import subprocess
import sys

import pytest

from infra import mocks
from infra.config import ROOT


def plan(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "infra", "plan", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_plan_prints_the_tree_with_counts_and_writes_masked_json(tmp_path):
    out = tmp_path / "plan.json"
    result = plan("--stack", "local", "--json", str(out), "--render-dir", str(tmp_path / "render"))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "pulumi:pulumi:Stack" in text and "berth-local" in text
    assert "├─ berth:docker:Database" in text and "│  └─ docker:index/container:Container" in text
    assert "5  docker:index/container:Container" in text
    data = json.loads(out.read_text())
    assert data["counts"]["docker:index/container:Container"] == 5
    api = next(r for r in data["resources"] if r["type"].endswith("Container") and r["name"] == "api")
    assert api["inputs"]["envs"] == "[secret]"
    assert "mock-" not in out.read_text()
    rendered = sorted(p.name for p in (tmp_path / "render").iterdir())
    assert len(rendered) == sum(1 for r in data["resources"] if r["custom"])
    assert all("mock-" not in p.read_text() for p in (tmp_path / "render").iterdir())


def test_plan_output_is_the_same_on_every_run(tmp_path):
    dirs = [tmp_path / str(i) for i in range(3)]
    for d in dirs:
        d.mkdir()
    runs = [plan("--stack", "local", "--json", str(d / "plan.json")) for d in dirs]
    assert all(r.returncode == 0 for r in runs)
    assert len({r.stdout.replace(str(d), "DIR") for r, d in zip(runs, dirs)}) == 1
    # Dependencies included: their order must not follow which registration finished first.
    assert len({(d / "plan.json").read_text() for d in dirs}) == 1


def test_plan_of_a_stack_with_secure_values_masks_them(tmp_path):
    for name in ("Pulumi.yaml",):
        (tmp_path / name).write_text((ROOT / name).read_text())
    # As `pulumi config set --secret` writes it with the passphrase provider: ciphertext and the salt.
    (tmp_path / "Pulumi.demo.yaml").write_text(
        "encryptionsalt: v1:c2FsdHNhbHQ=:v1:bm9uY2Vub25jZQ==:c2lnbmF0dXJl\n"
        "config:\n  berth:target: docker\n  berth:tier: dev\n  berth:secrets: [OPENAI_API_KEY]\n"
        "  berth:OPENAI_API_KEY:\n    secure: AAABAHZhbHVlCg==\n")
    run = mocks.run_stack("demo", root=tmp_path)
    from infra.plan import as_json
    env = mocks.unwrap(run.one("docker:index/container:Container", "api").inputs["envs"])
    key = next(e for e in env if e.startswith("OPENAI_API_KEY=")).split("=", 1)[1]
    assert key and key not in json.dumps(as_json(run))


@pytest.mark.parametrize("args, message", [
    (["--stack", "nosuch"], "no stack file Pulumi.nosuch.yaml"),
])
def test_plan_fails_clearly_on_a_missing_stack(args, message):
    result = plan(*args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_plan_exits_nonzero_with_the_config_error_and_prints_no_tree(tmp_path):
    # A copy of the project whose stack file is bad: the CLI reads Pulumi.<stack>.yaml from the root.
    import shutil
    for item in ("infra", "components", "stacks", "app"):
        shutil.copytree(ROOT / item, tmp_path / item, ignore=shutil.ignore_patterns("__pycache__", ".venv", "tests"))
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.broken.yaml").write_text(
        "config:\n  berth:target: docker\n  berth:tier: dev\n  berth:services:\n    api:\n      kind: web\n"
        "      scaling: {min: 4, max: 1}\n")
    result = plan("--stack", "broken", cwd=tmp_path)
    assert result.returncode == 2
    assert "berth:services.api.scaling: expected min ≤ max, found min=4, max=1" in result.stderr
    assert "pulumi:pulumi:Stack" not in result.stdout and "Traceback" not in result.stderr
