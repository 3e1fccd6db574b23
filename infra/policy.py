"""Run the policy pack (policies/rules.py) over a recorded run, as `pulumi preview --policy-pack` would."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from infra.config import ROOT
from infra.mocks import Run, masked, unwrap


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str

    def __str__(self) -> str:
        return f"[{self.policy}] {self.urn.rsplit('::', 1)[-1]}: {self.message}"


def _policies():
    sys.path.insert(0, str(ROOT / "policies"))
    try:
        from rules import POLICIES  # the pack's own module, imported as CrossGuard imports it
    finally:
        sys.path.pop(0)
    return POLICIES


def evaluate(run: Run) -> list[Violation]:
    from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs

    found: list[Violation] = []
    for policy in _policies():
        for record in run.records:
            if not record.custom:
                continue
            options = PolicyResourceOptions(
                protect=record.options.get("protect", False), ignore_changes=record.options.get("ignore_changes", []),
                delete_before_replace=record.options.get("delete_before_replace"), aliases=[],
                custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                additional_secret_outputs=record.options.get("additional_secret_outputs", []), parent=record.parent)
            # The engine hands policies unwrapped secrets and numbers as it read them.
            props = masked(unwrap(record.inputs))
            args = ResourceValidationArgs(record.type, props, record.urn, record.name, options, None)

            def report(message: str, urn: str | None = None, _r=record, _p=policy) -> None:
                found.append(Violation(_p.name, urn or _r.urn, message))

            for validate in policy.validate if isinstance(policy.validate, list) else [policy.validate]:
                validate(args, report)
    return found
