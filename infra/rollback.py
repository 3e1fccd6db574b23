"""`python -m infra rollback --stack NAME [--to VERSION] [--dry-run] [--yes] [--allow-program-change]`

Pulumi has no rollback command (pulumi/pulumi#96), and `stack export/import` restores state, not
infrastructure. A berth update is fully described by its program (the git commit the update
records) and its config (which pins the image by digest), so rolling back is: put an earlier
update's config back and run `pulumi up` with the same program. Through the Automation API:

1. pick the last successful `update` before the current one, or `--to VERSION`;
2. refuse when the program at that update's commit differs from this checkout's (`infra/`,
   `components/`, `stacks/`, `requirements.txt`, `Pulumi.yaml`, `__main__.py`, and `app/` when that
   update built its image from source), unless `--allow-program-change`;
3. restore that update's config exactly: every key with its secret flag (secrets read with
   `show_secrets` and set again as secrets), keys added since removed;
4. preview and print the preview, ask (unless `--yes`), then `up` with the message
   "rollback to version N".

It never edits or imports state. `--dry-run` stops before step 3 and changes nothing. When the
preview or the update fails, or the answer is no, the stack's config is put back as it was.

Exit codes: 0 rolled back (or dry run done); 4 no such stack; 5 no earlier successful update;
6 unknown version, or one that is not a successful update; 7 the program differs from that update's
(or cannot be compared); 8 preview failed; 9 update failed; 10 not confirmed or interrupted;
11 no usable Pulumi CLI; 12 a secret of that update cannot be decrypted.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Optional

from infra.config import ROOT
from infra.history import (DeliveryError, Update, exit_code, last_error_line, open_stack, parse_json_text,
                           updates)

if TYPE_CHECKING:
    from pulumi.automation import ConfigValue, PulumiCommand, Stack

# What decides the infrastructure besides config. app/ only when the update built its image.
PROGRAM = ("infra", "components", "stacks", "requirements.txt", "Pulumi.yaml", "__main__.py")
SOURCE = "app"
MESSAGE = "rollback to version {version}"
ROLLBACK_MESSAGE = re.compile(r"^rollback to version (\d+)\b")
# What `stack history --show-secrets` prints for a secret it could not decrypt, or did not show.
UNREADABLE = ("ERROR_UNABLE_TO_DECRYPT", "[secret]")

Config = Mapping[str, "ConfigValue"]


class NothingToRollBackTo(DeliveryError):
    code = 5


class UnknownVersion(DeliveryError):
    code = 6


class ProgramChanged(DeliveryError):
    code = 7


class PreviewFailed(DeliveryError):
    code = 8


class UpdateFailed(DeliveryError):
    code = 9


class NotConfirmed(DeliveryError):
    code = 10


class SecretUnreadable(DeliveryError):
    code = 12


def choose(stack: str, items: list[Update], to: Optional[int]) -> tuple[Update, Update]:
    """(the current update, the one to roll back to) out of the history, newest first."""
    deploys = [u for u in items if u.kind == "update"]
    if not deploys:
        raise NothingToRollBackTo(f"stack '{stack}' has no update in its history: nothing to roll back")
    current = deploys[0]
    if to is not None:
        target = next((u for u in items if u.version == to), None)
        if target is None:
            known = f"versions {items[-1].version}–{items[0].version}" if items else "no versions"
            raise UnknownVersion(f"stack '{stack}' has no version {to} ({known}; `python -m infra history "
                                 f"--stack {stack}` lists them)")
        if not target.succeeded_update:
            raise UnknownVersion(f"version {to} of stack '{stack}' is a {target.kind} that {target.result}, "
                                 "not a successful update: its config never ran as a whole")
        return current, target
    # A rollback counts as the version it restored: after a successful one, the next goes further
    # back; after a failed one, it tries the same version again.
    before = current.version
    restored = ROLLBACK_MESSAGE.match(current.message)
    if restored:
        before = int(restored[1]) + (0 if current.result == "succeeded" else 1)
    target = next((u for u in deploys if u.version < before and u.succeeded_update), None)
    if target is None:
        raise NothingToRollBackTo(f"stack '{stack}' has no successful update before version {before}: "
                                  "nothing to roll back to")
    return current, target


def program_paths(target: Update) -> tuple[str, ...]:
    built_from_source = target.image is None or target.image.startswith("build ")
    return PROGRAM + ((SOURCE,) if built_from_source else ())


def check_program(work_dir: Path, target: Update) -> str:
    """A line saying the program is the one `target` ran; ProgramChanged when it is not, or cannot be told."""
    allow = "pass --allow-program-change to roll back anyway"
    label = f"version {target.version}"
    if not target.commit:
        raise ProgramChanged(f"cannot compare the program: {label} records no git commit; {allow}")
    commit = target.commit

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=work_dir, capture_output=True, text=True)

    if git("rev-parse", "--is-inside-work-tree").returncode != 0:
        raise ProgramChanged(f"cannot compare the program: {work_dir} is not a git checkout; {allow}")
    if git("cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        raise ProgramChanged(f"cannot compare the program: commit {commit[:12]} of {label} is not in this "
                             f"checkout (a shallow clone? `git fetch --unshallow`); {allow}")
    paths = program_paths(target)
    changed = git("diff", "--name-only", commit, "--", *paths).stdout.split()
    added = git("ls-files", "--others", "--exclude-standard", "--", *paths).stdout.split()
    differences = sorted(set(changed) | set(added))
    if differences:
        shown = ", ".join(differences[:5]) + (f" and {len(differences) - 5} more" if len(differences) > 5 else "")
        raise ProgramChanged(f"the program changed since {label} (commit {commit[:12]}): {shown}; roll back from a "
                             f"checkout of that commit (`git checkout {commit[:12]}`), or {allow}")
    same_as = f"Program: the same as at commit {commit[:12]} ({', '.join(paths)})"
    # Every CI deploy is "dirty": it pins the image in Pulumi.<stack>.yaml before `pulumi up`. The
    # flag cannot say which files were changed, so it is shown, not refused.
    return same_as + (f"; {label} ran with uncommitted changes (the image pin, in CI)" if target.dirty else "")


def same(a: Optional["ConfigValue"], b: "ConfigValue") -> bool:
    return a is not None and a.secret == b.secret and parse_json_text(a.value) == parse_json_text(b.value)


def config_changes(current: Config, wanted: Config) -> tuple[dict[str, "ConfigValue"], list[str]]:
    """(keys to set, keys to remove) that turn `current` into `wanted`."""
    to_set = {key: value for key, value in wanted.items() if not same(current.get(key), value)}
    return to_set, sorted(key for key in current if key not in wanted)


def describe_changes(current: Config, to_set: Mapping[str, "ConfigValue"], to_remove: list[str]) -> list[str]:
    def show(value: "ConfigValue") -> str:
        text = "[secret]" if value.secret else value.value
        return text if len(text) <= 240 else text[:237] + "..."

    lines = [f"  + {k}: {show(v)}" if k not in current else f"  ~ {k}: {show(current[k])} → {show(v)}"
             for k, v in sorted(to_set.items())]
    return lines + [f"  - {k}" for k in to_remove]


def apply_config(stack: "Stack", to_set: Mapping[str, "ConfigValue"], to_remove: list[str]) -> None:
    """Set and remove keys in two CLI calls, in `pulumi config --json`'s own format (objects stay objects)."""
    if to_set:
        payload = {}
        for key, value in to_set.items():
            item = {"value": value.value, "secret": value.secret}
            # The API hands objects over as JSON text; berth's config reads JSON text as the object
            # (infra/config.py parse_value), so text that parses as one is restored as one.
            parsed = parse_json_text(value.value)
            if isinstance(parsed, (dict, list)):
                item["objectValue"] = parsed
            payload[key] = item
        stack.set_all_config_json(json.dumps(payload))
    if to_remove:
        stack.remove_all_config(to_remove)


def restore_config(stack: "Stack", before: Config, failure: DeliveryError) -> DeliveryError:
    """Put the config back as it was; the failure to report, saying whether that worked."""
    from pulumi.automation import errors

    try:
        apply_config(stack, *config_changes(stack.get_all_config(), before))
    except errors.CommandError as exc:
        failure.message += (f"; restoring the stack's previous config failed too ({last_error_line(exc)}): "
                            f"check `pulumi config --stack {stack.name}`")
        return failure
    failure.message += "; the stack's config is back as it was"
    return failure


def policy_pack(work_dir: Path, config: Config) -> tuple[Optional[list[str]], Optional[list[str]]]:
    """The policy pack as the deploy workflow runs it: enforced at the restored config's tier
    (policies/config/<tier>.json: mandatory on prod, advisory on dev)."""
    if not (work_dir / "policies" / "PulumiPolicy.yaml").exists():
        return None, None
    tier = config.get("berth:tier")
    tier_config = work_dir / "policies" / "config" / f"{tier.value if tier else 'prod'}.json"
    return [str(work_dir / "policies")], ([str(tier_config)] if tier_config.exists() else None)


def confirmed(ask: Callable[[str], str], stack: str, target: Update) -> bool:
    try:
        answer = ask(f"Roll stack '{stack}' back to version {target.version}? Type yes to go on: ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def rollback(args: argparse.Namespace, work_dir: Path, pulumi_command: Optional["PulumiCommand"],
             ask: Callable[[str], str]) -> None:
    from pulumi.automation import errors

    name = args.stack
    stack = open_stack(name, work_dir, pulumi_command)
    current, target = choose(name, updates(stack, show_secrets=True), args.to)
    print(f"Stack '{name}' is at {current.describe()}")
    print(f"Rolling back to {target.describe()}")
    try:
        print(check_program(work_dir, target))
    except ProgramChanged as refusal:
        if not args.allow_program_change:
            raise
        print(f"Program: {refusal.message.split('; ')[0]} (going on: --allow-program-change)")
    unreadable = sorted(k for k, v in target.config.items() if v.secret and v.value in UNREADABLE)
    if unreadable:
        raise SecretUnreadable(f"cannot decrypt {', '.join(unreadable)} of version {target.version}: is the "
                               "stack's secrets provider (passphrase, KMS key) available here?")
    before = stack.get_all_config()
    to_set, to_remove = config_changes(before, target.config)
    changes = describe_changes(before, to_set, to_remove)
    print("Config changes:" if changes else f"Config: already that of version {target.version}")
    for line in changes:
        print(line)
    if args.dry_run:
        print("Dry run: nothing changed, the stack's config included.")
        return

    packs, pack_configs = policy_pack(work_dir, target.config)
    apply_config(stack, to_set, to_remove)
    try:
        try:
            stack.preview(on_output=print, policy_packs=packs, policy_pack_configs=pack_configs)
        except errors.CommandError as exc:
            raise PreviewFailed(f"the preview of version {target.version}'s config failed: {last_error_line(exc)}")
        if not args.yes and not confirmed(ask, name, target):
            raise NotConfirmed("not confirmed: nothing was updated")
        try:
            result = stack.up(message=MESSAGE.format(version=target.version), on_output=print, policy_packs=packs,
                              policy_pack_configs=pack_configs)
        except errors.CommandError as exc:
            raise UpdateFailed(f"the update to version {target.version}'s config failed: {last_error_line(exc)}; "
                               f"`python -m infra history --stack {name}` shows what ran")
    except DeliveryError as failure:
        raise restore_config(stack, before, failure) from None
    except KeyboardInterrupt:
        raise restore_config(stack, before, NotConfirmed("interrupted")) from None
    print(f"Rolled stack '{name}' back to version {target.version}: it is now version {result.summary.version}.")
    print(f"Pulumi.{name}.yaml holds version {target.version}'s config now: the next deploy puts the "
          "committed config back, so commit this one or fix forward.")


def run(args: argparse.Namespace, work_dir: Path = ROOT, pulumi_command: Optional["PulumiCommand"] = None,
        ask: Callable[[str], str] = input) -> int:
    return exit_code(lambda: rollback(args, work_dir, pulumi_command, ask))


def add_parser(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "rollback", help="put a stack back to an earlier update: its config (and so its image), previewed, then up",
        description="Roll a stack back through its Pulumi history: restore the config of the last successful "
                    "update before the current one (or --to VERSION) exactly, secrets as secrets and keys added "
                    "since removed; refuse if the program at that update's git commit differs from this "
                    "checkout; preview, ask, then `pulumi up`. State is never edited. On a failed preview or "
                    "update, or a no, the config is put back. Exit codes: 0 done; 4 no such stack; 5 no earlier "
                    "successful update; 6 unknown or unsuitable version; 7 program differs; 8 preview failed; "
                    "9 update failed; 10 not confirmed; 11 no usable Pulumi CLI; 12 a secret cannot be decrypted.")
    p.add_argument("--stack", required=True, help="stack name, e.g. prod")
    p.add_argument("--to", type=int, metavar="VERSION",
                   help="the version to roll back to (default: the last successful update before the current one; "
                        "`python -m infra history` lists them)")
    p.add_argument("--dry-run", action="store_true",
                   help="show the chosen version, the program check and the config changes; change nothing")
    p.add_argument("--yes", action="store_true", help="do not ask before `pulumi up` (for CI)")
    p.add_argument("--allow-program-change", action="store_true",
                   help="roll back even though the program (infra/, components/, stacks/, …) differs from that "
                        "update's commit, or cannot be compared")
    p.set_defaults(func=run)
