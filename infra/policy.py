"""Run the policy pack (policies/berth_policy) over a recorded run, as `pulumi preview --policy-pack` would.

The pack's enforcement levels come from `policies/config/<tier>.json`, the same file CI hands the
CLI with `--policy-pack-config`: mandatory on prod, advisory on dev. A tier without a file gets the
pack's default (mandatory).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from infra.config import ROOT
from infra.mocks import Record, Run, masked, unwrap

PACK_DIR = ROOT / "policies"
CONFIG_DIR = PACK_DIR / "config"
MANDATORY, ADVISORY, DISABLED = "mandatory", "advisory", "disabled"


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str
    level: str = MANDATORY

    @property
    def resource(self) -> str:
        type_ = self.urn.split("::")[2].rsplit("$", 1)[-1] if self.urn.count("::") >= 3 else ""
        return f"{type_} '{self.urn.rsplit('::', 1)[-1]}'"

    def __str__(self) -> str:
        return f"[{self.policy}] {self.resource}: {self.message}"


def pack():
    """The pack's own package, imported as CrossGuard imports it (its directory on sys.path)."""
    if str(PACK_DIR) not in sys.path:
        sys.path.insert(0, str(PACK_DIR))
    import berth_policy
    return berth_policy


def config_file(tier: Optional[str]) -> Path:
    return CONFIG_DIR / f"{tier}.json"


def enforcement(tier: Optional[str]) -> dict[str, str]:
    """Policy name → level, from the tier's pack config (`"all"` first, then per-policy entries)."""
    berth_policy = pack()
    default = berth_policy.DEFAULT_ENFORCEMENT.value
    path = config_file(tier)
    config: dict[str, Any] = json.loads(path.read_text()) if tier and path.exists() else {}

    def level(entry: Any) -> Optional[str]:
        return entry if isinstance(entry, str) else (entry or {}).get("enforcementLevel")

    everything = level(config.get("all")) or default
    return {p.name: level(config.get(p.name)) or everything for p in berth_policy.POLICIES}


def _props(record: Record) -> Any:
    from pulumi_policy.proxy import unknown_checking_proxy
    # The engine hands policies unwrapped secrets and numbers as it read them, behind its proxies.
    return unknown_checking_proxy(masked(unwrap(record.inputs)))


def _options(record: Record):
    from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions
    return PolicyResourceOptions(
        protect=record.options.get("protect", False), ignore_changes=record.options.get("ignore_changes", []),
        delete_before_replace=record.options.get("delete_before_replace"), aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=record.options.get("additional_secret_outputs", []), parent=record.parent)


def _stack_resources(records: list[Record]) -> list[Any]:
    from pulumi_policy import PolicyResource
    made = {r.urn: PolicyResource(r.type, _props(r), r.urn, r.name, _options(r), None, None, [], {}) for r in records}
    for r in records:
        made[r.urn].property_dependencies = {
            prop: [made[u] for u in urns if u in made] for prop, urns in r.property_deps.items()}
    return list(made.values())


def evaluate(run: Run, tier: Optional[str] = None) -> list[Violation]:
    from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs

    levels = enforcement(tier)
    custom = [r for r in run.records if r.custom]
    found: list[Violation] = []
    for policy in pack().POLICIES:
        level = levels[policy.name]
        if level == DISABLED:
            continue

        def report(message: str, urn: Optional[str] = None, *, _default: str = "", _p=policy.name, _l=level) -> None:
            found.append(Violation(_p, urn or _default, message, _l))

        if isinstance(policy, ResourceValidationPolicy):
            for record in custom:
                args = ResourceValidationArgs(record.type, _props(record), record.urn, record.name, _options(record), None)
                policy.validate(args, lambda m, u=None, _r=record: report(m, u, _default=_r.urn))
        else:
            policy.validate(StackValidationArgs(_stack_resources(custom)), report)
    # Registration order varies from run to run; a plan must not.
    order = {p.name: i for i, p in enumerate(pack().POLICIES)}
    return sorted(found, key=lambda v: (order[v.policy], v.urn, v.message))


def mandatory(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.level == MANDATORY]


def tier_of(run: Run) -> Optional[str]:
    """The stack's tier as its config names it (validated by the spine before anything ran)."""
    from infra.config import parse_value
    from infra.errors import NAMESPACE
    value = parse_value(run.config.get(f"{NAMESPACE}:tier"))
    return value if isinstance(value, str) else None
