"""`python -m infra history`, driving the real `pulumi.automation` against the stand-in `pulumi`."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from infra import history
from infra.config import ROOT
from tests.fake_pulumi import FakePulumi, secret, update

DIGEST = "sha256:" + "ab" * 32
PINNED = {"berth:image": {"ref": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/berth@{DIGEST}"},
          "berth:OPENAI_API_KEY": secret("sk-hidden")}


def run(tmp_path, fake: FakePulumi, *args: str) -> int:
    (tmp_path / "Pulumi.yaml").write_text("name: berth\nruntime: python\n")
    parser = argparse.ArgumentParser()
    history.add_parser(parser.add_subparsers())
    return history.run(parser.parse_args(["history", *args]), work_dir=tmp_path, pulumi_command=fake.command())


def test_lists_updates_newest_first_with_image_commit_and_message(tmp_path, capsys):
    commit = "0123456789abcdef0123456789abcdef01234567"
    fake = FakePulumi(tmp_path / "fake", {"prod": {"history": [
        update(1, {}, commit=commit, message="first deploy"),                  # the tier default: built from app/
        update(2, {"berth:image": {"build": "app"}}, commit=commit, dirty=True),
        update(3, PINNED, commit=commit, result="failed", message="deploy 1.4.0\nwith details"),
        update(4, PINNED, kind="refresh"),
    ]}})

    assert run(tmp_path, fake, "--stack", "prod", "--json") == 0

    out = json.loads(capsys.readouterr().out)
    assert [u["version"] for u in out] == [4, 3, 2, 1]
    by_version = {u["version"]: u for u in out}
    assert by_version[3] == {
        "version": 3, "kind": "update", "result": "failed", "start": "2026-11-03T10:00:00Z", "end": "2026-11-03T10:05:00Z",
        "message": "deploy 1.4.0\nwith details", "image": PINNED["berth:image"]["ref"], "commit": commit, "dirty": False}
    assert by_version[4]["kind"] == "refresh" and by_version[4]["commit"] is None
    assert by_version[2]["image"] == "build app/" and by_version[2]["dirty"] is True
    assert by_version[1]["image"] is None
    # The history is read without secrets: no passphrase needed, none printed.
    assert all("--show-secrets" not in call for call in fake.calls())
    assert "sk-hidden" not in json.dumps(out)


def test_the_table_a_person_reads(tmp_path, capsys):
    commit = "0123456789abcdef0123456789abcdef01234567"
    fake = FakePulumi(tmp_path / "fake", {"prod": {"history": [
        update(1, {}, commit=commit, message="first deploy"),
        update(2, PINNED, commit=commit, result="failed", message="deploy 1.4.0\nwith details"),
    ]}})

    assert run(tmp_path, fake, "--stack", "prod") == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["VERSION", "KIND", "RESULT", "START", "(UTC)", "END", "(UTC)", "IMAGE", "COMMIT", "MESSAGE"]
    assert lines[1].split() == ["2", "update", "failed", "2026-11-02T10:00:00Z", "2026-11-02T10:05:00Z",
                                f"berth@sha256:{'ab' * 6}", commit[:12], "deploy", "1.4.0"]
    assert lines[2].split()[:2] == ["1", "update"] and "tier default (build)" in lines[2]
    assert lines[2].endswith("first deploy") and len(lines) == 3


def test_reads_every_page_of_a_long_history(tmp_path, capsys):
    fake = FakePulumi(tmp_path / "fake", {"prod": {"history": [update(v, PINNED) for v in range(1, 121)]}})

    assert run(tmp_path, fake, "--stack", "prod", "--json") == 0

    assert [u["version"] for u in json.loads(capsys.readouterr().out)] == list(range(120, 0, -1))
    pages = [c[c.index("--page") + 1] for c in fake.calls() if c[:2] == ["stack", "history"]]
    assert pages == ["1", "2", "3"]  # 50 a page; the CLI alone would have stopped at 10


def test_a_stack_never_updated(tmp_path, capsys):
    fake = FakePulumi(tmp_path / "fake", {"prod": {"history": []}})
    assert run(tmp_path, fake, "--stack", "prod") == 0
    assert capsys.readouterr().out == "stack 'prod' has never been updated\n"


@pytest.mark.parametrize("stacks, path, code, message", [
    ({}, None, 4, "error: no stack named 'prod' in this project's backend"),
    ({"prod": {"history": []}}, "empty", 11, "error: the Pulumi CLI is not on PATH"),
])
def test_failures_are_one_line_with_their_own_exit_code(tmp_path, capsys, monkeypatch, stacks, path, code, message):
    fake = FakePulumi(tmp_path / "fake", stacks)
    if path:  # no pulumi at all: the command looks it up on PATH
        (tmp_path / path).mkdir()
        monkeypatch.setenv("PATH", str(tmp_path / path))
        parser = argparse.ArgumentParser()
        history.add_parser(parser.add_subparsers())
        result = history.run(parser.parse_args(["history", "--stack", "prod"]), work_dir=tmp_path)
    else:
        result = run(tmp_path, fake, "--stack", "prod")
    err = capsys.readouterr().err.strip().splitlines()
    assert result == code and len(err) == 1 and err[0].startswith(message)


def test_the_command_line_as_a_user_runs_it(tmp_path):
    """`python -m infra history` from the project, the stand-in being the `pulumi` on PATH."""
    fake = FakePulumi(tmp_path / "fake", {"prod": {"history": [update(1, PINNED), update(2, PINNED)]}})
    result = subprocess.run([sys.executable, "-m", "infra", "history", "--stack", "prod", "--json"], cwd=ROOT,
                            env=fake.path_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert [u["version"] for u in json.loads(result.stdout)] == [2, 1]
    assert fake.calls()[1] == ["stack", "select", "--stack", "prod"]
    help_text = subprocess.run([sys.executable, "-m", "infra", "history", "--help"], cwd=ROOT,
                               capture_output=True, text=True, timeout=120).stdout
    assert "--stack" in help_text and "--json" in help_text
