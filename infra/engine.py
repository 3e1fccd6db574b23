"""What a real `pulumi up` refuses that the SDK's mock runtime accepts, checked on a recorded run.

The mock runtime records whatever the program declares. The engine and the clouds refuse more:
- two resources with one URN (the engine rejects the update; the mocks silently overwrite);
- physical names a cloud rejects (too long, bad characters) or that collide within one account,
  region, project or namespace (the second create fails).
A green plan must mean a deployable stack, so `run_program` raises `EngineError` on either.

Physical-name rules live with each target, in `components/<target>/names.py` as
`PHYSICAL_NAMES: dict[type token, NameRule]`; this module only applies them.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional

import pulumi

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def engine_urn(stack: str, project: str, parent_urn: str, type_: str, name: str) -> str:
    """The URN the engine gives a resource: the parent's whole *type* chain, then this type and name.

    `urn:pulumi:<stack>::<project>::<parent types joined by $>$<type>::<name>`; children of the
    stack itself carry no parent type. Parent names never appear, so two components of one type
    whose children share a name give those children one URN.
    """
    qualified = type_
    if parent_urn:
        parent_type = parent_urn.split("::")[2]
        if parent_type != ROOT_STACK_TYPE:
            qualified = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


@dataclass(frozen=True)
class NameRule:
    """A cloud's rule for one resource type's physical name.

    `path`: where the name is in the recorded inputs (dotted, e.g. `metadata.name`).
    `max_len`, `pattern`: what the cloud accepts (`pattern` is matched whole).
    `unique_within`: other input paths that scope uniqueness (e.g. `metadata.namespace`); names
    are otherwise unique per type across the plan, which models one account, region or project.
    `prefix`: the path names a prefix the provider completes (e.g. S3 `bucketPrefix`): the
    cloud's limit applies to prefix plus `suffix_len` generated characters.
    `what`: the cloud's words for the rule, for the message.
    """

    path: str
    max_len: int
    pattern: str
    what: str
    unique_within: tuple[str, ...] = ()
    suffix_len: int = 0


@dataclass(frozen=True)
class Refusal:
    rule: str  # "urn" or "name"
    message: str

    def __str__(self) -> str:
        return self.message


class EngineError(pulumi.RunError):
    """The plan would be refused by the engine or the cloud; every refusal is one line."""

    def __init__(self, stack: str, refusals: list[Refusal]):
        self.stack = stack
        self.refusals = refusals
        lines = "\n".join(f"  {r}" for r in refusals)
        super().__init__(f"stack '{stack}' would be refused by `pulumi up`:\n{lines}")


def _at(inputs: dict[str, Any], path: str) -> Any:
    value: Any = inputs
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _declared_by(record: Any) -> str:
    """Who declared a resource, in the user's terms: its parent component's URN tail, or the stack."""
    parent = record.parent or ""
    if not parent or parent.split("::")[2] == ROOT_STACK_TYPE:
        return "the stack"
    return f"{parent.split('::')[2].rsplit('$', 1)[-1]} '{parent.rsplit('::', 1)[-1]}'"


def urn_collisions(records: Iterable[Any]) -> list[Refusal]:
    """Each URN declared more than once, with every declaration named."""
    seen: dict[str, list[Any]] = {}
    for rec in records:
        seen.setdefault(rec.urn, []).append(rec)
    out = []
    for urn, recs in sorted(seen.items()):
        if len(recs) > 1:
            who = " and ".join(f"{r.type} '{r.name}' declared by {_declared_by(r)}"
                               for r in sorted(recs, key=lambda r: r.parent))
            out.append(Refusal("urn", f"duplicate URN {urn}: {who} (name each child after its parent)"))
    return out


def name_rules(target: Optional[str]) -> dict[str, NameRule]:
    if not target:
        return {}
    try:
        module = importlib.import_module(f"components.{target}.names")
    except ModuleNotFoundError:
        return {}
    return dict(getattr(module, "PHYSICAL_NAMES", {}))


def physical_name_problems(records: Iterable[Any], rules: dict[str, NameRule]) -> list[Refusal]:
    """Names a cloud would reject, and names one account/region/namespace would hold twice."""
    out: list[Refusal] = []
    holders: dict[tuple, list[Any]] = {}
    for rec in records:
        rule = rules.get(rec.type)
        if rule is None or not rec.custom:
            continue
        name = _at(rec.inputs, rule.path)
        if not isinstance(name, str):
            continue  # auto-named by the provider: unique and within limits by construction
        length = len(name) + rule.suffix_len
        if length > rule.max_len or not re.fullmatch(rule.pattern, name):
            out.append(Refusal("name", f"{rec.type} '{rec.name}': {rule.path} {name!r} is not a valid name "
                                       f"({rule.what}; {length} chars, at most {rule.max_len})"))
        if rule.suffix_len:
            continue  # the provider appends a unique suffix
        scope = tuple(str(_at(rec.inputs, p)) for p in rule.unique_within)
        holders.setdefault((rec.type, scope, name), []).append(rec)
    for (typ, _, name), recs in sorted(holders.items(), key=lambda kv: str(kv[0])):
        if len(recs) > 1:
            names = " and ".join(f"'{r.name}' ({_declared_by(r)})" for r in recs)
            out.append(Refusal("name", f"{typ}: physical name {name!r} is used by {names}; the second create fails"))
    return out


def refusals(records: list[Any], target: Optional[str]) -> list[Refusal]:
    return urn_collisions(records) + physical_name_problems(records, name_rules(target))
