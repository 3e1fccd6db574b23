"""`python -m infra history --stack NAME [--json]`: a stack's updates, newest first, with the image
each one deployed and the git commit it was deployed from.

Read through the Automation API (`pulumi.automation`, `Stack.history`) from the stack's backend, so
it needs the Pulumi CLI and a login, not a cloud. The image comes from each update's own config
(`berth:image`), which the deploy workflow pins by digest before every `pulumi up`.

Exit codes: 0 printed; 4 no such stack; 11 the Pulumi CLI is missing or too old.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

from infra.config import ROOT
from infra.errors import NAMESPACE

if TYPE_CHECKING:
    from pulumi.automation import ConfigValue, PulumiCommand, Stack, UpdateSummary

IMAGE_KEY = f"{NAMESPACE}:image"
PAGE_SIZE = 50  # the CLI returns 10 updates unless asked for a page size


class DeliveryError(Exception):
    """One line for the person at the terminal, and the exit code that says which failure it was."""

    code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NoSuchStack(DeliveryError):
    code = 4


class PulumiUnavailable(DeliveryError):
    code = 11


@dataclass(frozen=True)
class Update:
    """One entry of a stack's history, in the words the history and rollback commands use."""

    version: int
    kind: str  # update, preview, refresh, destroy, …
    result: str  # succeeded, failed, in-progress
    start: datetime
    end: Optional[datetime]
    message: str
    image: Optional[str]
    commit: Optional[str]
    dirty: bool
    config: Mapping[str, "ConfigValue"]

    @classmethod
    def of(cls, summary: "UpdateSummary") -> "Update":
        env = summary.environment or {}
        return cls(version=summary.version or 0, kind=summary.kind, result=summary.result, start=summary.start_time,
                   end=summary.end_time, message=summary.message or "", image=image_of(summary.config),
                   commit=env.get("git.head") or None, dirty=env.get("git.dirty") == "true",
                   config=summary.config)

    @property
    def succeeded_update(self) -> bool:
        return self.kind == "update" and self.result == "succeeded"

    def describe(self) -> str:
        """`version 12 (update, succeeded, image …@sha256:0123456789ab, commit 1a2b3c4d5e6f)`."""
        commit = f"commit {self.commit[:12]}{' (dirty)' if self.dirty else ''}" if self.commit else "no commit"
        return f"version {self.version} ({self.kind}, {self.result}, image {short_image(self.image)}, {commit})"

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "kind": self.kind, "result": self.result, "start": _iso(self.start),
                "end": _iso(self.end), "message": self.message, "image": self.image, "commit": self.commit,
                "dirty": self.dirty}


def parse_json_text(value: str) -> Any:
    """Structured config reaches the Automation API as JSON text; anything else stays a string."""
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def image_of(config: Mapping[str, "ConfigValue"]) -> Optional[str]:
    """What `berth:image` in an update's config names: a digest reference, `build <dir>/`, or None."""
    item = config.get(IMAGE_KEY)
    if item is None:
        return None  # the tier's default: built from app/
    if item.secret:
        return "[secret]"
    image = parse_json_text(item.value)
    if isinstance(image, dict):
        if image.get("ref"):
            return str(image["ref"])
        if image.get("build"):
            return f"build {image['build']}/"
    return str(image)


def short_image(image: Optional[str]) -> str:
    """`registry/team/berth@sha256:<64 hex>` → `berth@sha256:<12 hex>`: enough to tell builds apart."""
    if image is None:
        return "tier default (build)"
    name, at, digest = image.partition("@")
    if not at:
        return image
    return f"{name.rsplit('/', 1)[-1]}@{digest[:19]}"


def _iso(moment: Optional[datetime]) -> Optional[str]:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def open_stack(name: str, work_dir: Path = ROOT, pulumi_command: Optional["PulumiCommand"] = None) -> "Stack":
    """Select an existing stack of the project in work_dir; never creates one."""
    from pulumi import automation as auto

    try:
        command = pulumi_command or auto.PulumiCommand()
    except FileNotFoundError:
        raise PulumiUnavailable("the Pulumi CLI is not on PATH (https://www.pulumi.com/docs/install/)") from None
    except auto.errors.InvalidVersionError as exc:
        raise PulumiUnavailable(f"the Pulumi CLI cannot be used: {exc}") from None
    options = auto.LocalWorkspaceOptions(pulumi_command=command)
    try:
        return auto.select_stack(stack_name=name, work_dir=str(work_dir), opts=options)
    except auto.errors.StackNotFoundError:
        raise NoSuchStack(f"no stack named '{name}' in this project's backend (`pulumi stack ls` lists them)") from None
    except auto.errors.CommandError as exc:
        raise NoSuchStack(f"cannot select stack '{name}': {last_error_line(exc)}") from None


def updates(stack: "Stack", show_secrets: bool) -> list[Update]:
    """Every update of the stack, newest first, a page at a time."""
    found: dict[int, Update] = {}
    page = 1
    while True:
        batch = stack.history(page_size=PAGE_SIZE, page=page, show_secrets=show_secrets)
        fresh = [Update.of(s) for s in batch if (s.version or 0) not in found]
        for item in fresh:
            found[item.version] = item
        if len(batch) < PAGE_SIZE or not fresh:  # the last page, or a backend that ignores paging
            break
        page += 1
    return sorted(found.values(), key=lambda u: u.version, reverse=True)


def last_error_line(exc: Exception) -> str:
    """The CLI's own `error: …` line out of a CommandError, or its last line of output."""
    text = str(exc)  # " code: N\n stdout: …\n stderr: …", the CLI's output as it came
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:  # the first error is the cause; `error: update failed` comes after it
        bare = line.removeprefix("stdout:").removeprefix("stderr:").strip()
        if bare.startswith("error:"):
            return bare[len("error:"):].strip()
    useful = [line for line in lines if not line.startswith(("code:", "stdout:", "stderr:"))]
    return (useful or lines or ["no output"])[-1]


def render_table(items: list[Update]) -> str:
    header = ("VERSION", "KIND", "RESULT", "START (UTC)", "END (UTC)", "IMAGE", "COMMIT", "MESSAGE")
    rows = [header] + [
        (str(u.version), u.kind, u.result, _iso(u.start) or "-", _iso(u.end) or "-", short_image(u.image),
         (u.commit[:12] + ("+dirty" if u.dirty else "")) if u.commit else "-", u.message.splitlines()[0] if u.message else "")
        for u in items
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in rows)


def exit_code(command: Callable[[], None]) -> int:
    """Run a command: a DeliveryError becomes its one line on stderr and its exit code."""
    try:
        command()
    except DeliveryError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.code
    return 0


def show(args: argparse.Namespace, work_dir: Path, pulumi_command: Optional["PulumiCommand"]) -> None:
    # No secrets needed: the image key is plain, and nothing else of the config is shown.
    items = updates(open_stack(args.stack, work_dir, pulumi_command), show_secrets=False)
    if args.json:
        print(json.dumps([u.as_json() for u in items], indent=2))
    elif not items:
        print(f"stack '{args.stack}' has never been updated")
    else:
        print(render_table(items))


def run(args: argparse.Namespace, work_dir: Path = ROOT, pulumi_command: Optional["PulumiCommand"] = None) -> int:
    return exit_code(lambda: show(args, work_dir, pulumi_command))


def add_parser(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "history", help="a stack's updates, newest first, with the image and git commit of each",
        description="List a stack's updates from its Pulumi backend, newest first: version, kind, result, "
                    "start and end time (UTC), the image the update's config pinned, the git commit it was "
                    "deployed from, and its message. Needs the Pulumi CLI and a login, no cloud. "
                    "Exit codes: 0 listed; 4 no such stack; 11 no usable Pulumi CLI.")
    p.add_argument("--stack", required=True, help="stack name, e.g. prod")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list (version, kind, result, start, end, message, image, commit, dirty)")
    p.set_defaults(func=run)
