"""A stand-in for the `pulumi` CLI, for tests of the Automation API driver (infra/history.py, infra/rollback.py).

It answers the commands `pulumi.automation` sends, in the CLI's own formats, from a scenario file
(the "backend": stacks, their update history, outputs, injected failures) and from the
`Pulumi.<stack>.yaml` in its working directory (the stack's config, as the real CLI keeps it). It
logs every call as a JSON line. Anything it does not know — a command, a flag — is an error, so a
test notices when the SDK sends something new instead of passing by accident.

Formats follow the CLI's source: `stack history --json` is `updateInfoJSON` (version, kind,
startTime, message, environment, config of `configValueJSON` {value, objectValue, secret}, result,
endTime, resourceChanges), newest first, 10 per page unless `--page-size`; `config --json` is a map
of `configValueJSON`; `config set-all --json` takes that same map back. Times are UTC
`2006-01-02T15:04:05.000Z`. Errors go to stderr as `error: …` with exit status 255. Secrets in the
stack file are `{secure: fake1:<base64>}`: not encryption, only a marker the tests can look for.

Run as `cli.py STATE_FILE ARGS…` (tests/fake_pulumi/__init__.py writes the `bin/pulumi` wrapper).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.000Z"
DEFAULT_PAGE_SIZE = 10  # `stack history`'s default --page-size


class CliError(Exception):
    pass


def encrypt(plaintext: str) -> str:
    return "fake1:" + base64.b64encode(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    if not ciphertext.startswith("fake1:"):
        raise CliError(f"failed to decrypt: unknown ciphertext {ciphertext[:12]}…")
    return base64.b64decode(ciphertext[6:]).decode()


def now() -> str:
    return time.strftime(TIME_FORMAT, time.gmtime())


# ------------------------------------------------------------------------------------------------
# Config values, stored as the stack file stores them: plain YAML values or {secure: ciphertext}


def is_secure(stored: Any) -> bool:
    return isinstance(stored, dict) and set(stored) == {"secure"}


def as_json(stored: Any, show_secrets: bool, undecryptable: str | None = None) -> dict[str, Any]:
    """One `configValueJSON`: value as text (objects as Go's json.Marshal writes them), objectValue, secret.

    `stack history` prints `undecryptable` for a secret it cannot decrypt; `config` fails instead.
    """
    if is_secure(stored):
        out: dict[str, Any] = {"secret": True}
        if show_secrets:
            try:
                out["value"] = decrypt(stored["secure"])
            except CliError:
                if undecryptable is None:
                    raise
                out["value"] = undecryptable
        return out
    if isinstance(stored, (dict, list)):
        return {"value": json.dumps(stored, separators=(",", ":"), sort_keys=True), "objectValue": stored,
                "secret": False}
    if isinstance(stored, bool):
        return {"value": "true" if stored else "false", "secret": False}
    return {"value": str(stored), "secret": False}


def config_json(config: dict[str, Any], show_secrets: bool, undecryptable: str | None = None) -> dict[str, Any]:
    return {key: as_json(value, show_secrets, undecryptable) for key, value in config.items()}


# ------------------------------------------------------------------------------------------------


class Cli:
    def __init__(self, state_file: Path, cwd: Path):
        self.state_file = state_file
        self.cwd = cwd
        self.state = json.loads(state_file.read_text())

    def save(self) -> None:
        self.state_file.write_text(json.dumps(self.state, indent=2))

    # -- project and stack files ------------------------------------------------------------------

    def project(self) -> str:
        path = self.cwd / "Pulumi.yaml"
        if not path.exists():
            raise CliError(f"no Pulumi.yaml project file found (searching upwards from {self.cwd})")
        return yaml.safe_load(path.read_text())["name"]

    def stack(self, name: str | None) -> dict[str, Any]:
        name = name or self.state.get("selected")
        if not name:
            raise CliError("no stack selected; please use `pulumi stack select` to choose one")
        self.project()
        if name not in self.state["stacks"]:
            raise CliError(f"no stack named '{name}' found")
        return self.state["stacks"][name]

    def stack_file(self, name: str) -> Path:
        return self.cwd / f"Pulumi.{name}.yaml"

    def read_config(self, name: str) -> dict[str, Any]:
        path = self.stack_file(name)
        if not path.exists():
            return {}
        return (yaml.safe_load(path.read_text()) or {}).get("config") or {}

    def write_config(self, name: str, config: dict[str, Any]) -> None:
        path = self.stack_file(name)
        doc = (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}
        doc["config"] = config
        path.write_text(yaml.safe_dump(doc, sort_keys=False))

    # -- commands --------------------------------------------------------------------------------

    def version(self, flags: Flags) -> str:
        return "v" + self.state["cli_version"] + "\n"

    def stack_select(self, flags: Flags) -> str:
        name = flags.value("--stack") or flags.positional(0)
        self.stack(name)
        self.state["selected"] = name
        self.save()
        return ""

    def stack_ls(self, flags: Flags) -> str:
        flags.boolean("--json")
        self.project()
        out = []
        for name, stack in self.state["stacks"].items():
            history = stack.get("history", [])
            item = {"name": name, "current": name == self.state.get("selected"), "updateInProgress": False}
            if history:
                item["lastUpdate"] = history[0].get("endTime", history[0]["startTime"])
                item["resourceCount"] = stack.get("resource_count", 0)
            out.append(item)
        return json.dumps(out, indent=4) + "\n"

    def stack_history(self, flags: Flags) -> str:
        if not flags.boolean("--json"):
            raise CliError("the stand-in only answers `stack history --json`")
        show_secrets = flags.boolean("--show-secrets")
        size = int(flags.value("--page-size") or DEFAULT_PAGE_SIZE)
        page = int(flags.value("--page") or 1)
        stack = self.stack(flags.value("--stack"))
        entries = sorted(stack.get("history", []), key=lambda u: u["version"], reverse=True)
        entries = entries[(page - 1) * size: page * size] if size > 0 else entries
        out = []
        for entry in entries:
            item = {key: entry[key] for key in ("version", "kind", "startTime", "message", "environment")}
            item["config"] = config_json(entry["config"], show_secrets, undecryptable="ERROR_UNABLE_TO_DECRYPT")
            item["result"] = entry["result"]
            if entry["result"] != "in-progress":
                item["endTime"] = entry["endTime"]
                item["resourceChanges"] = entry.get("resourceChanges", {})
            out.append(item)
        return json.dumps(out, indent=4) + "\n"

    def stack_output(self, flags: Flags) -> str:
        flags.boolean("--json")
        show = flags.boolean("--show-secrets")
        stack = self.stack(flags.value("--stack"))
        outputs = {k: (v if show or not isinstance(v, dict) else "[secret]") for k, v in stack.get("outputs", {}).items()}
        return json.dumps(outputs, indent=4) + "\n"

    def config_list(self, flags: Flags) -> str:
        if not flags.boolean("--json"):
            raise CliError("the stand-in only answers `config --json`")
        show_secrets = flags.boolean("--show-secrets")
        name = flags.value("--stack")
        self.stack(name)
        return json.dumps(config_json(self.read_config(name), show_secrets), indent=4) + "\n"

    def config_set_all(self, flags: Flags) -> str:
        if flags.boolean("--path"):
            raise CliError("the stand-in does not set config by --path")
        name = flags.value("--stack")
        self.stack(name)
        config = self.read_config(name)
        raw = flags.value("--json")
        if raw is not None:
            for key, item in json.loads(raw).items():
                if item.get("secret"):
                    if "objectValue" in item:
                        raise CliError("the stand-in does not store secret objects")
                    config[key] = {"secure": encrypt(item["value"])}
                elif "objectValue" in item:
                    config[key] = json.loads(item["value"])
                else:
                    config[key] = item["value"]
        for pair in flags.values("--plaintext"):
            key, _, value = pair.partition("=")
            config[key] = value
        for pair in flags.values("--secret"):
            key, _, value = pair.partition("=")
            config[key] = {"secure": encrypt(value)}
        self.write_config(name, config)
        return ""

    def config_set(self, flags: Flags) -> str:
        if flags.boolean("--path"):
            raise CliError("the stand-in does not set config by --path")
        secret = flags.boolean("--secret")
        flags.boolean("--plaintext")
        name = flags.value("--stack")
        self.stack(name)
        key, value = flags.positional(0), flags.after_separator()
        config = self.read_config(name)
        config[key] = {"secure": encrypt(value)} if secret else value
        self.write_config(name, config)
        return ""

    def config_rm(self, flags: Flags, *, many: bool) -> str:
        if flags.boolean("--path"):
            raise CliError("the stand-in does not remove config by --path")
        name = flags.value("--stack")
        self.stack(name)
        config = self.read_config(name)
        for key in flags.positionals() if many else [flags.positional(0)]:
            config.pop(key, None)
        self.write_config(name, config)
        return ""

    def engine_flags(self, flags: Flags) -> dict[str, Any]:
        """The flags preview and up share, as the Automation API sends them."""
        return {
            "stack": flags.value("--stack"),
            "message": flags.value("--message"),
            "policy_packs": flags.values("--policy-pack"),
            "policy_pack_configs": flags.values("--policy-pack-config"),
            "diff": flags.boolean("--diff"),
            "refresh": flags.boolean("--refresh"),
            "expect_no_changes": flags.boolean("--expect-no-changes"),
            "exec_kind": flags.value("--exec-kind"),
            "event_log": flags.value("--event-log"),
            "color": flags.value("--color"),
        }

    def preview(self, flags: Flags) -> str:
        opts = self.engine_flags(flags)
        stack = self.stack(opts["stack"])
        config = self.read_config(opts["stack"])
        failure = self.state.get("fail", {}).get("preview")
        changes = stack.get("changes", {"same": 12, "update": 1})
        lines = [f"Previewing update ({opts['stack']}):", "",
                 "     Type                 Name                Plan",
                 f"     pulumi:pulumi:Stack  {self.project()}-{opts['stack']}"]
        if failure:
            send_events(opts["event_log"], [{"diagnosticEvent": {"message": failure, "severity": "error"}},
                                            {"cancelEvent": {}}])
            print("\n".join(lines))
            raise CliError(failure)
        lines += ["", "Resources:"] + [f"    {n} to {op}" for op, n in sorted(changes.items()) if op != "same"]
        lines.append(f"    {changes.get('same', 0)} unchanged")
        send_events(opts["event_log"], [
            {"preludeEvent": {"config": {k: json.dumps(v) if not isinstance(v, str) else v for k, v in config.items()
                                         if not is_secure(v)}}},
            {"summaryEvent": {"maybeCorrupt": False, "durationSeconds": 1, "resourceChanges": changes,
                              "PolicyPacks": {p: "" for p in opts["policy_packs"]}}},
            {"cancelEvent": {}},
        ])
        return "\n".join(lines) + "\n"

    def up(self, flags: Flags) -> str:
        if not (flags.boolean("--yes") and flags.boolean("--skip-preview")):
            raise CliError("--yes must be passed in to proceed when running in non-interactive mode")
        opts = self.engine_flags(flags)
        stack = self.stack(opts["stack"])
        failure = self.state.get("fail", {}).get("up")
        history = stack.setdefault("history", [])
        changes = stack.get("changes", {"same": 12, "update": 1})
        entry = {
            "version": max((u["version"] for u in history), default=0) + 1,
            "kind": "update",
            "startTime": now(),
            "message": opts["message"] or "",
            "environment": {"exec.kind": opts["exec_kind"] or "cli", **git_environment(self.cwd)},
            "config": self.read_config(opts["stack"]),
            "result": "failed" if failure else "succeeded",
            "endTime": now(),
            "resourceChanges": {"update": 1} if failure else changes,
        }
        history.append(entry)
        self.save()
        print(f"Updating ({opts['stack']}):")
        if failure:
            send_events(opts["event_log"], [{"diagnosticEvent": {"message": failure, "severity": "error"}},
                                            {"cancelEvent": {}}])
            raise CliError(failure)
        send_events(opts["event_log"], [{"summaryEvent": {"maybeCorrupt": False, "durationSeconds": 2,
                                                          "resourceChanges": changes, "PolicyPacks": {}}},
                                        {"cancelEvent": {}}])
        return f"Resources:\n    {changes.get('update', 0)} updated\n\nUpdate complete (version {entry['version']}).\n"


def git_environment(cwd: Path) -> dict[str, str]:
    """What the CLI records about the checkout: the commit at HEAD and whether the tree was dirty."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()

    try:
        return {"git.head": git("rev-parse", "HEAD"), "git.dirty": str(bool(git("status", "--porcelain"))).lower()}
    except (subprocess.CalledProcessError, FileNotFoundError):
        return {}


def send_events(target: str | None, events: list[dict[str, Any]]) -> None:
    """Engine events to the Automation API: over gRPC (CLI > 3.205) or into a log file (older)."""
    if not target:
        return
    stamped = [{"sequence": i, "timestamp": int(time.time()), **e} for i, e in enumerate(events)]
    if target.startswith("tcp://"):
        import grpc
        from pulumi.runtime.proto import events_pb2, events_pb2_grpc

        with grpc.insecure_channel(target[len("tcp://"):]) as channel:
            events_pb2_grpc.EventsStub(channel).StreamEvents(
                iter([events_pb2.EventRequest(event=json.dumps(e)) for e in stamped]))
    else:
        with open(target, "a", encoding="utf-8") as log:
            for event in stamped:
                log.write(json.dumps(event) + "\n")


class Flags:
    """The arguments after the command words; every flag read is checked off, the rest are errors."""

    BOOLEAN = {"--json", "--show-secrets", "--path", "--secret", "--plaintext", "--yes", "--skip-preview",
               "--diff", "--refresh", "--expect-no-changes", "--non-interactive"}

    def __init__(self, args: list[str], valued: frozenset[str] = frozenset()):
        self.items: list[tuple[str, str | None]] = []
        self.rest: list[str] = []
        self.positional_args: list[str] = []
        boolean = self.BOOLEAN - valued
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                self.rest = args[i + 1:]
                break
            if arg.startswith("--") and "=" in arg:
                name, _, value = arg.partition("=")
                self.items.append((name, value))
            elif arg.startswith("--") or arg == "-s":
                name = "--stack" if arg == "-s" else arg
                if name in boolean:
                    self.items.append((name, None))
                else:
                    if i + 1 >= len(args):
                        raise CliError(f"flag needs an argument: {arg}")
                    self.items.append((name, args[i + 1]))
                    i += 1
            else:
                self.positional_args.append(arg)
            i += 1
        self.read: set[str] = set()

    def value(self, name: str) -> str | None:
        found = self.values(name)
        return found[-1] if found else None

    def values(self, name: str) -> list[str]:
        self.read.add(name)
        return [v for n, v in self.items if n == name and v is not None]

    def boolean(self, name: str) -> bool:
        self.read.add(name)
        return any(n == name for n, _ in self.items)

    def positional(self, index: int) -> str:
        self.read.add("#positional")
        if index >= len(self.positional_args):
            raise CliError("missing argument")
        return self.positional_args[index]

    def positionals(self) -> list[str]:
        self.read.add("#positional")
        return list(self.positional_args)

    def after_separator(self) -> str:
        if len(self.rest) != 1:
            raise CliError("expected one value after --")
        return self.rest[0]

    def check_all_read(self) -> None:
        unknown = sorted({n for n, _ in self.items if n not in self.read and n != "--non-interactive"})
        if unknown:
            raise CliError(f"unknown flag: {unknown[0]}")
        if self.positional_args and "#positional" not in self.read:
            raise CliError(f"unexpected argument: {self.positional_args[0]}")


COMMANDS = {
    ("version",): lambda cli, f: cli.version(f),
    ("stack", "select"): lambda cli, f: cli.stack_select(f),
    ("stack", "ls"): lambda cli, f: cli.stack_ls(f),
    ("stack", "history"): lambda cli, f: cli.stack_history(f),
    ("stack", "output"): lambda cli, f: cli.stack_output(f),
    ("config",): lambda cli, f: cli.config_list(f),
    ("config", "set-all"): lambda cli, f: cli.config_set_all(f),
    ("config", "set"): lambda cli, f: cli.config_set(f),
    ("config", "rm"): lambda cli, f: cli.config_rm(f, many=False),
    ("config", "rm-all"): lambda cli, f: cli.config_rm(f, many=True),
    ("preview",): lambda cli, f: cli.preview(f),
    ("up",): lambda cli, f: cli.up(f),
}


def split_command(args: list[str]) -> tuple[tuple[str, ...], list[str]]:
    words = [a for a in args if a != "--non-interactive"]
    for length in (2, 1):
        if tuple(words[:length]) in COMMANDS:
            return tuple(words[:length]), words[length:]
    raise CliError(f"unknown command {' '.join(words[:2])!r} for \"pulumi\"")


def main(argv: list[str]) -> int:
    state_file, args = Path(argv[0]), argv[1:]
    with open(state_file.with_name("calls.jsonl"), "a", encoding="utf-8") as log:
        log.write(json.dumps({"args": args, "cwd": os.getcwd()}) + "\n")
    try:
        command, rest = split_command(args)
        # `config set-all` takes values after --secret, --plaintext and --json; elsewhere they are switches.
        valued = frozenset({"--secret", "--plaintext", "--json"}) if command == ("config", "set-all") else frozenset()
        flags = Flags(rest, valued)
        cli = Cli(state_file, Path.cwd())
        out = COMMANDS[command](cli, flags)
        flags.check_all_read()
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 255
    sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
