"""Break a shipped prod-tier stack's config one rule at a time: `plan --check` must fail naming the
rule, or the config spine must refuse the change first, naming the key.

Parametrized over every prod-tier stack file on disk (Pulumi.prod.yaml today; a gcp or kubernetes
prod stack is picked up when it lands). The CLI runs in-process with the mutated config in place
of the stack file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pytest

from infra import mocks
from infra.__main__ import main
from infra.config import ROOT, deep_merge, parse_value

REMOVE = object()
RANDOM_KEY = "Zq8vN2xK7pL4mR9tW3yB6cF1hJ5gD0sA"


def tier(stack: str) -> Optional[str]:
    return parse_value(mocks.read_stack_config(stack).get("berth:tier"))


def target(stack: str) -> Optional[str]:
    return parse_value(mocks.read_stack_config(stack).get("berth:target"))


PROD_STACKS = [s for s in mocks.shipped_stacks() if tier(s) == "prod"]


@dataclass
class Mutation:
    what: str
    change: Any  # the config change, or a function of the target giving it
    rule: Optional[str] = None  # the policy that must fail…
    refused_key: Optional[str] = None  # …or the key the config spine must refuse
    words: str = ""  # in the failing line
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)  # target → its own change, where it differs

    def __str__(self) -> str:
        return self.what.replace(" ", "-")

    def change_for(self, target_name: str) -> Optional[dict[str, Any]]:
        if target_name in self.targets:
            return self.targets[target_name]
        return self.change(target_name) if callable(self.change) else self.change or None


MUTATIONS = [
    Mutation("backups 1 day", {"berth:database": {"backup_days": 1}}, rule="berth-data-backups", words="1 day",
             # gcp keeps point-in-time logs no longer than the backups: shorten both
             targets={"gcp": {"berth:database": {"backup_days": 1}, "berth:gcp": {"transaction_log_days": 1}}}),
    Mutation("no deletion protection", {"berth:database": {"deletion_protection": False}},
             rule="berth-data-backups", words="deletion protection"),
    Mutation("no alert email", {"berth:alerts": {"email": None}}, rule="berth-alerting",
             words="no notification target"),
    Mutation("random token as plain env", {"berth:env": {"UPSTREAM_ID": RANDOM_KEY}},
             rule="berth-no-plaintext-secrets", words="UPSTREAM_ID"),
    Mutation("password in a URL in a service's env",
             {"berth:services": {"api": {"kind": "web", "env": {"UPSTREAM": "https://bot:hunter2@hooks.example.com"}}}},
             rule="berth-no-plaintext-secrets", words="URL with a password"),
    # Every target has <target>.require_tls for dev stacks without a domain: turn it off in prod.
    Mutation("plain HTTP", lambda t: {"berth:domain": REMOVE, f"berth:{t}": {"require_tls": False}},
             rule="berth-tls-only", words="without TLS", targets={
                 "aws": {"berth:domain": REMOVE, "berth:aws": {"require_tls": False, "zone_id": REMOVE}},
                 "docker": None}),
    Mutation("TLS 1.0 accepted", None, rule="berth-tls-only", words="accepts TLS",
             targets={"gcp": {"berth:gcp": {"min_tls_version": "TLS_1_0"}},
                      "aws": {"berth:aws": {"tls_policy": "ELBSecurityPolicy-2016-08"}}}),
    # What the spine refuses before a resource is declared: a key that does not exist, a value it
    # will not take. The policy still has the rule for what another route could produce.
    Mutation("public database", {"berth:database": {"publicly_accessible": True}},
             refused_key="berth:database.publicly_accessible"),
    Mutation("secret-named plain env", {"berth:env": {"OPENAI_API_KEY": "sk-proj-abcdefghijklmnop"}},
             refused_key="berth:env.OPENAI_API_KEY"),
    Mutation("unpinned image", {"berth:image": {"ref": "ghcr.io/acme/berth:latest"}}, refused_key="berth:image"),  # "expected ref pinned by digest"
    Mutation("logs kept forever", None, refused_key="berth:log_retention_days",
             targets={"aws": {"berth:log_retention_days": 0}}),
]


def mutate(config: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = dict(config)
    for key, value in change.items():
        current = parse_value(out.get(key))
        if isinstance(value, dict) and isinstance(current, dict):
            value = deep_merge(current, value)
            value = {k: v for k, v in value.items() if v is not REMOVE}
        if value is REMOVE:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def check(monkeypatch, capsys, stack: str, config: dict[str, Any]) -> tuple[int, str, str]:
    monkeypatch.setattr(mocks, "run_stack", lambda name, root=ROOT: mocks.run_program(name, config))
    code = main(["plan", "--stack", stack, "--check"])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("stack", PROD_STACKS)
def test_the_shipped_prod_stack_passes(monkeypatch, capsys, stack: str) -> None:
    code, out, err = check(monkeypatch, capsys, stack, mocks.read_stack_config(stack))
    assert code == 0, out[-2000:] + err


@pytest.mark.parametrize("mutation", MUTATIONS, ids=str)
@pytest.mark.parametrize("stack", PROD_STACKS)
def test_breaking_a_rule_fails_check_naming_it(monkeypatch, capsys, stack: str, mutation: Mutation) -> None:
    change = mutation.change_for(target(stack))
    if change is None:
        pytest.skip(f"{target(stack)} has no config that does '{mutation.what}' (the rule on hand-built resources: "
                    "tests/test_policy_rules.py; its coverage per target: docs/guardrails.md)")
    code, out, err = check(monkeypatch, capsys, stack, mutate(mocks.read_stack_config(stack), change))
    if mutation.refused_key:
        assert code == 2, out[-2000:]
        assert f"{mutation.refused_key}: expected" in err, err
        return
    failing = [line.strip() for line in out.splitlines() if line.strip().startswith("failed")]
    assert code == 3, out[-3000:] + err
    assert any(line.startswith(f"failed   policy {mutation.rule}:") and mutation.words in line for line in failing), \
        failing
