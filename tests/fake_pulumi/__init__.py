"""The stand-in `pulumi` (cli.py) as tests use it: a scenario in, the calls and the config out."""

from __future__ import annotations

import json
import os
import stat
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pulumi._version import version as SDK_VERSION

from tests.fake_pulumi.cli import TIME_FORMAT, decrypt, encrypt

CLI = Path(__file__).with_name("cli.py")


def secret(value: str) -> dict[str, str]:
    """A secret config value as the stack file (and the backend's history) stores it."""
    return {"secure": encrypt(value)}


def update(version: int, config: dict[str, Any], *, result: str = "succeeded", kind: str = "update",
           commit: str | None = None, dirty: bool = False, message: str = "") -> dict[str, Any]:
    """One entry of a stack's history, as the backend records it."""
    environment = {"exec.kind": "cli"}
    if commit:
        environment.update({"git.head": commit, "git.dirty": "true" if dirty else "false"})
    start = datetime(2026, 10, 31, 10, tzinfo=timezone.utc) + timedelta(days=version)  # version 1: 1 November
    return {"version": version, "kind": kind, "startTime": start.strftime(TIME_FORMAT),
            "endTime": (start + timedelta(minutes=5)).strftime(TIME_FORMAT),
            "message": message, "environment": environment, "config": config, "result": result,
            "resourceChanges": {"same": 12, "update": 1}}


class FakePulumi:
    """A `pulumi` under `root/bin`, as `PulumiCommand(root=…)` looks for it."""

    def __init__(self, root: Path, stacks: dict[str, dict[str, Any]], *, fail: dict[str, str] | None = None,
                 cli_version: str = str(SDK_VERSION)):
        self.root = root
        self.state_file = root / "state.json"
        self.calls_file = root / "calls.jsonl"
        (root / "bin").mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps({"cli_version": cli_version, "stacks": stacks, "fail": fail or {}}))
        wrapper = root / "bin" / "pulumi"
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{CLI}" "{self.state_file}" "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

    @property
    def bin_dir(self) -> str:
        return str(self.root / "bin")

    def command(self):
        from pulumi.automation import PulumiCommand

        return PulumiCommand(root=str(self.root))

    def path_env(self) -> dict[str, str]:
        """The environment of a user whose `pulumi` on PATH is this stand-in."""
        return {**os.environ, "PATH": self.bin_dir + os.pathsep + os.environ["PATH"]}

    def calls(self) -> list[list[str]]:
        """Every command sent, without the global --non-interactive flag."""
        if not self.calls_file.exists():
            return []
        lines = self.calls_file.read_text().splitlines()
        return [[a for a in json.loads(line)["args"] if a != "--non-interactive"] for line in lines]

    def commands(self) -> list[str]:
        """The command words of every call, e.g. `config`, `config set-all`, `up`."""
        subcommands = {"select", "ls", "history", "output", "set-all", "set", "rm", "rm-all"}
        return [" ".join(args[:2]) if args[0] in ("stack", "config") and len(args) > 1 and args[1] in subcommands
                else args[0] for args in self.calls()]

    def history(self, stack: str) -> list[dict[str, Any]]:
        entries = json.loads(self.state_file.read_text())["stacks"][stack].get("history", [])
        return sorted(entries, key=lambda u: u["version"], reverse=True)


def plain(config: dict[str, Any]) -> dict[str, Any]:
    """A stored config with its secrets decrypted and marked, for comparing what was kept."""
    return {k: ("secret", decrypt(v["secure"])) if isinstance(v, dict) and set(v) == {"secure"} else v
            for k, v in config.items()}


__all__ = ["FakePulumi", "TIME_FORMAT", "plain", "secret", "update"]
