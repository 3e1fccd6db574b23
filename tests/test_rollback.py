"""`python -m infra rollback`, driving the real `pulumi.automation` against the stand-in `pulumi`
(tests/fake_pulumi): which update it picks, the calls it makes, and the config it leaves behind.

Each test builds a small git repository shaped like the project (Pulumi.yaml, infra/, components/,
stacks/, app/, policies/), so the program check compares real commits with a real checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra import rollback
from infra.config import ROOT
from tests.fake_pulumi import FakePulumi, plain, secret, update

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/berth"


def ref(digit: str) -> dict:
    return {"ref": f"{REGISTRY}@sha256:{digit * 64}"}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()


class Project:
    """A git checkout of a berth-shaped project, with commits to point updates at."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir()
        files = {
            "Pulumi.yaml": "name: berth\nruntime: python\n",
            "__main__.py": "print('program')\n",
            "requirements.txt": "pulumi>=3,<4\n",
            "infra/program.py": "VERSION = 1\n",
            "components/aws/service.py": "SERVICE = 1\n",
            "stacks/prod.yaml": "database: {backup_days: 7}\n",
            "app/main.py": "APP = 1\n",
            "policies/PulumiPolicy.yaml": "runtime: python\n",
            "policies/config/prod.json": '{"all": "mandatory"}\n',
            ".gitignore": "__pycache__/\n",
        }
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        git(root, "init", "-q", "-b", "main")
        self.commit("the first program")

    def commit(self, message: str) -> str:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.root, "rev-parse", "HEAD")

    def change(self, name: str, text: str, message: str | None = None) -> str | None:
        (self.root / name).parent.mkdir(parents=True, exist_ok=True)
        (self.root / name).write_text(text)
        return self.commit(message) if message else None

    def write_stack(self, stack: str, config: dict) -> None:
        (self.root / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))

    def stack_config(self, stack: str) -> dict:
        return yaml.safe_load((self.root / f"Pulumi.{stack}.yaml").read_text())["config"]


def config(image: dict, key: str, **extra) -> dict:
    return {"berth:target": "aws", "berth:tier": "prod", "aws:region": "us-east-1", "berth:image": image,
            "berth:env": {"LOG_LEVEL": "info"}, "berth:OPENAI_API_KEY": secret(key), **extra}


V1 = config(ref("1"), "sk-one")
V2 = config(ref("2"), "sk-two")
V3 = config(ref("3"), "sk-three", **{"berth:domain": "api.example.com"})  # a key added since v2


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path / "project")


def scenario(project: Project, tmp_path: Path, history: list[dict], *, current: dict | None = None,
             fail: dict | None = None, cli_version: str | None = None) -> FakePulumi:
    """The stack `prod` with this history; its stack file holds `current` (default: the newest update's)."""
    project.write_stack("prod", current if current is not None else max(history, key=lambda u: u["version"])["config"])
    project.commit("stack file")
    kwargs = {"cli_version": cli_version} if cli_version else {}
    return FakePulumi(tmp_path / "fake", {"prod": {"history": history}}, fail=fail, **kwargs)


def deployed_three_times(project: Project, tmp_path: Path, **kwargs) -> FakePulumi:
    """prod updated to V1, V2, V3 from this checkout's HEAD: the usual starting point."""
    head = project.commit("deployed")
    return scenario(project, tmp_path, [update(1, V1, commit=head), update(2, V2, commit=head),
                                        update(3, V3, commit=head)], **kwargs)


def run(project: Project, fake: FakePulumi, *args: str, answer: str | None = None):
    parser = argparse.ArgumentParser()
    rollback.add_parser(parser.add_subparsers())
    parsed = parser.parse_args(["rollback", "--stack", "prod", *args])
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        if answer is None:
            raise EOFError
        return answer

    code = rollback.run(parsed, work_dir=project.root, pulumi_command=fake.command(), ask=ask)
    return code, asked


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def assert_no_changes(fake: FakePulumi) -> None:
    assert not {"config set-all", "config set", "config rm", "config rm-all", "preview", "up"} & set(fake.commands())


@pytest.mark.parametrize("cli_version", [None, "3.200.0"], ids=["events-over-grpc", "events-in-a-file"])
def test_rolls_back_to_the_last_successful_update_before_the_current_one(project, tmp_path, capsys, cli_version):
    head = project.commit("deployed")
    fake = scenario(project, tmp_path, [update(1, V1, commit=head), update(2, V2, commit=head),
                                        update(3, V3, commit=head, message="deploy 1.3")], cli_version=cli_version)

    code, asked = run(project, fake, "--yes")

    out, err = capsys.readouterr()
    assert code == 0, err
    assert asked == []
    calls = fake.calls()
    assert fake.commands() == ["version", "stack select", "stack history", "config", "config set-all",
                               "config rm-all", "preview", "up", "stack output", "stack output", "stack history"]
    assert ["--show-secrets"] == [a for a in calls[2] if a == "--show-secrets"]  # history read with its secrets
    set_all = json.loads(calls[4][calls[4].index("--json") + 1])
    assert set(set_all) == {"berth:image", "berth:OPENAI_API_KEY"}  # only what differs from v3
    assert set_all["berth:OPENAI_API_KEY"] == {"value": "sk-two", "secret": True}
    assert set_all["berth:image"]["objectValue"] == ref("2")
    assert calls[5][:2] == ["config", "rm-all"] and "berth:domain" in calls[5]
    up = calls[7]
    assert up[:3] == ["up", "--yes", "--skip-preview"]
    assert up[up.index("--message") + 1] == "rollback to version 2"
    assert up[up.index("--policy-pack") + 1] == str(project.root / "policies")
    preview = calls[6]
    assert preview[preview.index("--policy-pack") + 1] == str(project.root / "policies")
    # Enforced at the restored config's tier, as the deploy workflow enforces it.
    for call in (preview, up):
        assert call[call.index("--policy-pack-config") + 1] == str(project.root / "policies/config/prod.json")
    # What is left: the stack file and the new update both hold v2's config, the secret still a secret.
    left = project.stack_config("prod")
    assert left["berth:image"] == ref("2")  # an object again, not JSON text
    assert set(left["berth:OPENAI_API_KEY"]) == {"secure"}
    assert plain(left) == plain(V2)
    newest = fake.history("prod")[0]
    assert newest["version"] == 4 and newest["message"] == "rollback to version 2"
    assert plain(newest["config"]) == plain(V2) and newest["environment"]["git.head"] == git(project.root, "rev-parse", "HEAD")
    assert "Previewing update (prod)" in out and "Rolled stack 'prod' back to version 2: it is now version 4." in out
    assert "~ berth:OPENAI_API_KEY: [secret] → [secret]" in out and "- berth:domain" in out
    assert "sk-" not in out + err


def test_rolls_back_to_the_version_asked_for_after_a_yes(project, tmp_path, capsys):
    fake = deployed_three_times(project, tmp_path)

    code, asked = run(project, fake, "--to", "1", answer="yes")

    assert code == 0, capsys.readouterr().err
    assert asked == ["Roll stack 'prod' back to version 1? Type yes to go on: "]
    assert plain(project.stack_config("prod")) == plain(V1)
    assert fake.history("prod")[0]["message"] == "rollback to version 1"


@pytest.mark.parametrize("history, expected", [
    # The current update failed half way: back to the last one that succeeded.
    ([update(1, V1), update(2, V2), update(3, V3, result="failed")], 2),
    # Refreshes and previews are not updates to roll back to.
    ([update(1, V1), update(2, V2, kind="refresh"), update(3, V3)], 1),
    # A rollback counts as the version it restored: the next one goes further back ...
    ([update(1, V1), update(2, V2), update(3, V3), update(4, V2, message="rollback to version 2")], 1),
    # ... and after a failed one, it tries that version again.
    ([update(1, V1), update(2, V2), update(3, V3), update(4, V2, result="failed", message="rollback to version 2")], 2),
])
def test_the_update_chosen(project, tmp_path, capsys, history, expected):
    head = project.commit("deployed")
    history = [{**u, "environment": {"git.head": head, "git.dirty": "false"}} for u in history]
    fake = scenario(project, tmp_path, history)

    code, _ = run(project, fake, "--yes")

    assert code == 0, capsys.readouterr().err
    chosen = next(u for u in history if u["version"] == expected)
    assert fake.history("prod")[0]["message"] == f"rollback to version {expected}"
    assert plain(project.stack_config("prod")) == plain(chosen["config"])


def test_dry_run_changes_nothing_not_even_the_config(project, tmp_path, capsys):
    fake = deployed_three_times(project, tmp_path)
    before = (project.root / "Pulumi.prod.yaml").read_bytes()

    code, asked = run(project, fake, "--dry-run")

    out, err = capsys.readouterr()
    assert code == 0, err
    assert asked == []
    assert_no_changes(fake)
    assert (project.root / "Pulumi.prod.yaml").read_bytes() == before
    assert [u["version"] for u in fake.history("prod")] == [3, 2, 1]
    assert "Rolling back to version 2" in out and f"@sha256:{'2' * 12}" in out
    assert "~ berth:image" in out and "Dry run: nothing changed" in out and "sk-" not in out


def test_refuses_when_the_program_changed_since_that_update(project, tmp_path, capsys):
    old = project.commit("deployed v2")
    project.change("infra/program.py", "VERSION = 2\n", "a new program")
    new = git(project.root, "rev-parse", "HEAD")
    fake = scenario(project, tmp_path, [update(1, V1, commit=old), update(2, V2, commit=old), update(3, V3, commit=new)])
    before = (project.root / "Pulumi.prod.yaml").read_bytes()

    code, _ = run(project, fake, "--yes")

    line = one_error_line(capsys.readouterr().err)
    assert code == 7
    assert f"the program changed since version 2 (commit {old[:12]}): infra/program.py" in line
    assert "--allow-program-change" in line
    assert_no_changes(fake)
    assert (project.root / "Pulumi.prod.yaml").read_bytes() == before

    code, _ = run(project, fake, "--yes", "--allow-program-change")

    assert code == 0
    assert plain(project.stack_config("prod")) == plain(V2)


def test_uncommitted_program_changes_count_too(project, tmp_path, capsys):
    fake = deployed_three_times(project, tmp_path)
    project.change("components/aws/service.py", "SERVICE = 2\n")  # edited, not committed
    project.change("components/aws/extra.py", "NEW = 1\n")  # a new file, not committed

    code, _ = run(project, fake, "--yes")

    line = one_error_line(capsys.readouterr().err)
    assert code == 7 and "components/aws/extra.py, components/aws/service.py" in line
    assert_no_changes(fake)


@pytest.mark.parametrize("image, refused", [({"build": "app"}, True), (ref("2"), False)],
                         ids=["built-from-app", "pinned-by-digest"])
def test_app_is_program_only_when_the_image_was_built_from_it(project, tmp_path, capsys, image, refused):
    old = project.commit("deployed v2")
    project.change("app/main.py", "APP = 2\n", "a new service")
    new = git(project.root, "rev-parse", "HEAD")
    v2 = {**V2, "berth:image": image}
    fake = scenario(project, tmp_path, [update(1, V1, commit=old), update(2, v2, commit=old), update(3, V3, commit=new)])

    code, _ = run(project, fake, "--yes")

    err = capsys.readouterr().err
    if refused:
        assert code == 7 and "app/main.py" in one_error_line(err)
        assert_no_changes(fake)
    else:
        assert code == 0, err
        assert plain(project.stack_config("prod")) == plain(v2)


@pytest.mark.parametrize("environment, message", [
    ({}, "version 2 records no git commit"),
    ({"git.head": "0123456789abcdef0123456789abcdef01234567", "git.dirty": "false"},
     "commit 0123456789ab of version 2 is not in this checkout"),
])
def test_refuses_when_the_program_cannot_be_compared(project, tmp_path, capsys, environment, message):
    head = project.commit("deployed")
    v2 = {**update(2, V2), "environment": environment}
    fake = scenario(project, tmp_path, [update(1, V1, commit=head), v2, update(3, V3, commit=head)])

    code, _ = run(project, fake, "--yes")

    line = one_error_line(capsys.readouterr().err)
    assert code == 7 and message in line and "--allow-program-change" in line
    assert_no_changes(fake)


def test_a_dirty_deploy_is_compared_by_its_commit(project, tmp_path, capsys):
    """CI deploys are dirty (the image pin edits the stack file): the commit is compared, the flag shown."""
    head = project.commit("deployed")
    v2 = {**update(2, V2), "environment": {"git.head": head, "git.dirty": "true"}}
    fake = scenario(project, tmp_path, [update(1, V1, commit=head), v2, update(3, V3, commit=head)])

    code, _ = run(project, fake, "--yes")

    out = capsys.readouterr().out
    assert code == 0
    assert f"Program: the same as at commit {head[:12]}" in out and "version 2 ran with uncommitted changes" in out


def test_refuses_outside_a_git_checkout(tmp_path, capsys):
    bare = tmp_path / "not-a-repo"
    bare.mkdir()
    (bare / "Pulumi.yaml").write_text("name: berth\nruntime: python\n")
    (bare / "Pulumi.prod.yaml").write_text(yaml.safe_dump({"config": V3}))
    commit = "0123456789abcdef0123456789abcdef01234567"
    fake = FakePulumi(tmp_path / "fake", {"prod": {"history": [update(1, V1, commit=commit), update(2, V2, commit=commit),
                                                               update(3, V3, commit=commit)]}})
    project = Project.__new__(Project)
    project.root = bare

    code, _ = run(project, fake, "--yes")

    assert code == 7 and "is not a git checkout" in one_error_line(capsys.readouterr().err)
    assert_no_changes(fake)


@pytest.mark.parametrize("stacks_history, args, code, message", [
    (None, [], 4, "no stack named 'prod'"),
    ([], [], 5, "has no update in its history"),
    ([update(1, V1)], [], 5, "no successful update before version 1"),
    ([update(1, V1, result="failed"), update(2, V2)], [], 5, "no successful update before version 2"),
    ([update(1, V1), update(2, V2)], ["--to", "9"], 6, "has no version 9 (versions 1–2"),
    ([update(1, V1, result="failed"), update(2, V2)], ["--to", "1"], 6, "version 1 of stack 'prod' is a update that failed"),
    ([update(1, V1, kind="refresh"), update(2, V2)], ["--to", "1"], 6, "is a refresh that succeeded"),
])
def test_each_refusal_is_one_line_with_its_own_exit_code(project, tmp_path, capsys, stacks_history, args, code, message):
    head = project.commit("deployed")
    project.write_stack("prod", V2)
    stacks = {} if stacks_history is None else {
        "prod": {"history": [{**u, "environment": {"git.head": head, "git.dirty": "false"}} for u in stacks_history]}}
    fake = FakePulumi(tmp_path / "fake", stacks)
    before = (project.root / "Pulumi.prod.yaml").read_bytes()

    result, _ = run(project, fake, "--yes", *args)

    assert result == code
    assert message in one_error_line(capsys.readouterr().err)
    assert_no_changes(fake)
    assert (project.root / "Pulumi.prod.yaml").read_bytes() == before


def test_a_secret_that_cannot_be_decrypted_is_refused_before_any_change(project, tmp_path, capsys):
    head = project.commit("deployed")
    broken = {**V2, "berth:OPENAI_API_KEY": {"secure": "v1:sealed-by-another-passphrase"}}
    fake = scenario(project, tmp_path, [update(1, V1, commit=head), update(2, broken, commit=head),
                                        update(3, V3, commit=head)])

    code, _ = run(project, fake, "--yes")

    assert code == 12 and "cannot decrypt berth:OPENAI_API_KEY of version 2" in one_error_line(capsys.readouterr().err)
    assert_no_changes(fake)


def assert_config_restored(project: Project, fake: FakePulumi, before: bytes) -> None:
    """The stack file holds what it held before, secrets as secrets, objects as objects."""
    left = project.stack_config("prod")
    assert plain(left) == plain(yaml.safe_load(before)["config"])
    assert set(left["berth:OPENAI_API_KEY"]) == {"secure"} and isinstance(left["berth:image"], dict)


def test_a_failed_preview_restores_the_config_and_updates_nothing(project, tmp_path, capsys):
    fake = deployed_three_times(project, tmp_path, fail={"preview": "aws:ecs:TaskDefinition api: image not found"})
    before = (project.root / "Pulumi.prod.yaml").read_bytes()

    code, _ = run(project, fake, "--yes")

    line = one_error_line(capsys.readouterr().err)
    assert code == 8 and "the preview of version 2's config failed: aws:ecs:TaskDefinition api: image not found" in line
    assert "config is back as it was" in line
    assert "up" not in fake.commands()
    assert fake.commands()[-3:] == ["preview", "config", "config set-all"]  # read what is there, put back what was
    assert_config_restored(project, fake, before)


def test_an_update_that_fails_half_way_leaves_the_previous_config_restored(project, tmp_path, capsys):
    fake = deployed_three_times(project, tmp_path, fail={"up": "update failed: 1 resource failed to update"})
    before = (project.root / "Pulumi.prod.yaml").read_bytes()

    code, _ = run(project, fake, "--yes")

    line = one_error_line(capsys.readouterr().err)
    assert code == 9 and "the update to version 2's config failed: update failed: 1 resource failed" in line
    assert "config is back as it was" in line
    failed = fake.history("prod")[0]  # the backend recorded the failed update, with v2's config
    assert failed["version"] == 4 and failed["result"] == "failed" and plain(failed["config"]) == plain(V2)
    assert_config_restored(project, fake, before)
    assert "berth:domain" in project.stack_config("prod")  # the key removed for v2 is back


@pytest.mark.parametrize("answer", ["no", None], ids=["no", "no-terminal"])
def test_no_answer_but_yes_restores_the_config(project, tmp_path, capsys, answer):
    fake = deployed_three_times(project, tmp_path)
    before = (project.root / "Pulumi.prod.yaml").read_bytes()

    code, asked = run(project, fake, answer=answer)

    out, err = capsys.readouterr()
    assert code == 10 and "not confirmed" in one_error_line(err)
    assert len(asked) == 1 and "Previewing update (prod)" in out  # asked after the preview was shown
    assert "up" not in fake.commands()
    assert_config_restored(project, fake, before)


def test_without_a_pulumi_cli(project, tmp_path, capsys, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    parser = argparse.ArgumentParser()
    rollback.add_parser(parser.add_subparsers())

    code = rollback.run(parser.parse_args(["rollback", "--stack", "prod"]), work_dir=project.root)

    assert code == 11 and "the Pulumi CLI is not on PATH" in one_error_line(capsys.readouterr().err)


def test_the_command_line_as_a_user_runs_it(tmp_path):
    """`python -m infra rollback` with the stand-in as the `pulumi` on PATH: exit code and one line."""
    fake = FakePulumi(tmp_path / "fake", {})  # a backend without the stack
    result = subprocess.run([sys.executable, "-m", "infra", "rollback", "--stack", "nosuch", "--dry-run"], cwd=ROOT,
                            env=fake.path_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 4
    assert one_error_line(result.stderr) == ("error: no stack named 'nosuch' in this project's backend "
                                             "(`pulumi stack ls` lists them)")
    help_text = subprocess.run([sys.executable, "-m", "infra", "rollback", "--help"], cwd=ROOT,
                               capture_output=True, text=True, timeout=120).stdout
    for option in ("--stack", "--to VERSION", "--dry-run", "--yes", "--allow-program-change"):
        assert option in help_text
