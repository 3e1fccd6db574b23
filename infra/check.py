"""`python -m infra plan --stack NAME --check`: everything that can be verified offline, one line per check.

- the policy pack (policies/), at the enforcement level of the stack's tier: one line per rule,
  and per finding;
- the API-model checks of the stack's target, `infra/checks/<target>.py` `check(run)`: the same
  code the tests run; what it could not check (its `skipped(run)`) is a `skipped` line with the
  reason, or a `failed` one under CI=true where CI has what the check needs;
- a secret-leak scan: the stack's secret values (under mocks, the fake ones the run used for
  `secure:` config, plus every generated password) must not appear in any recorded input, option
  or output outside a Pulumi secret, nor in the printed plan.

Every line starts with `passed`, `failed` or `skipped`; any `failed` makes the plan exit 3.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from infra import policy
from infra.config import parse_value
from infra.errors import NAMESPACE
from infra.mocks import Run, fake_outputs, masked, runtime_config, unwrap

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
PASSWORD = "random:index/randomPassword:RandomPassword"


@dataclass(frozen=True)
class Line:
    status: str
    check: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.status:<8} {self.check}" + (f": {self.detail}" if self.detail else "")


def target_of(run: Run) -> Optional[str]:
    value = parse_value(run.config.get(f"{NAMESPACE}:target"))
    return value if isinstance(value, str) else None


# ------------------------------------------------------------------------------------------------
# The policy pack

def policy_lines(run: Run, violations: list[policy.Violation], tier: Optional[str]) -> Iterator[Line]:
    from berth_policy.rules import RULES
    target = target_of(run)
    levels = policy.enforcement(tier)
    for rule in RULES:
        found = [v for v in violations if v.policy == rule.name]
        name = f"policy {rule.name}"
        if levels[rule.name] == policy.DISABLED:
            yield Line(SKIPPED, name, f"disabled in policies/config/{tier}.json")
        elif target in rule.gaps:
            yield Line(SKIPPED, name, f"nothing to check on {target}: {rule.gaps[target]}")
        elif not found:
            yield Line(PASSED, name)
        for v in found:
            if v.level == policy.MANDATORY:
                yield Line(FAILED, name, f"{v.resource}: {v.message}")
            else:
                yield Line(PASSED, f"{name} (advisory on tier {tier})", f"{v.resource}: {v.message}")


# ------------------------------------------------------------------------------------------------
# The target's API model

def api_model_lines(run: Run) -> Iterator[Line]:
    target = target_of(run)
    name = f"api-model {target}"
    module_name = f"infra.checks.{target}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # the module exists and something it imports is missing: that is a failure to see
        yield Line(SKIPPED, name, f"no infra/checks/{target}.py for target {target} yet")
        return
    found = module.check(run)
    if not found:
        yield Line(PASSED, name, f"infra/checks/{target}.py")
    for problem in found:
        yield Line(FAILED, name, problem)
    in_ci = os.environ.get("CI") == "true"
    for skip in getattr(module, "skipped", lambda _: [])(run):
        if skip.ci_must_run and in_ci:
            yield Line(FAILED, name, f"{skip} (CI=true requires this check)")
        else:
            yield Line(SKIPPED, name, str(skip))


# ------------------------------------------------------------------------------------------------
# Secret leaks

def secret_values(run: Run) -> dict[str, str]:
    """Where each secret value came from → the value, for the values this run used."""
    out: dict[str, str] = {}
    values, secret_keys = runtime_config(run.config)
    for key in secret_keys:
        out[f"config {key}"] = values[key]
    for rec in run.by_type(PASSWORD):
        out[f"generated password '{rec.name}'"] = fake_outputs(rec.type, rec.name, rec.inputs)["result"]
    return {k: v for k, v in out.items() if v}


def _paths(value: Any, needle: str, path: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, needle, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, needle, f"{path}[{i}]")
    elif needle in str(value):
        yield path or "(value)"


def leaks(run: Run, printed: str) -> list[str]:
    """Every place a secret value appears outside a Pulumi secret."""
    secrets = secret_values(run)
    out = []
    for source, value in sorted(secrets.items()):
        for rec in sorted(run.records, key=lambda r: r.urn):
            for where, data in (("inputs", masked(rec.inputs)), ("options", masked(rec.options))):
                for path in _paths(data, value):
                    out.append(f"the {source} is in plain text in {rec.type} '{rec.name}' {where} at {path}")
        for key, output in sorted(run.outputs.items()):
            if key not in run.secret_outputs and value in json.dumps(masked(output), default=str):
                out.append(f"the {source} is in plain text in stack output '{key}'")
        if value in printed:
            out.append(f"the {source} is in the printed plan")
    return out


def leak_lines(run: Run, printed: str) -> Iterator[Line]:
    secrets = secret_values(run)
    if not secrets:
        yield Line(SKIPPED, "secret-leak scan", "the stack has no secret values")
        return
    found = leaks(run, printed)
    if not found:
        used = json.dumps([unwrap(r.inputs) for r in run.records], default=str)
        in_use = sum(1 for v in secrets.values() if v in used)
        yield Line(PASSED, "secret-leak scan", f"{len(secrets)} secret values ({in_use} used by resources), none in "
                                                "plain text in inputs, options, outputs or the printed plan")
    for problem in found:
        yield Line(FAILED, "secret-leak scan", problem)


def run_checks(run: Run, violations: list[policy.Violation], tier: Optional[str], printed: str) -> list[Line]:
    return [*policy_lines(run, violations, tier), *api_model_lines(run), *leak_lines(run, printed)]


def failed(lines: list[Line]) -> bool:
    return any(line.status == FAILED for line in lines)
