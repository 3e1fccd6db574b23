"""berth's CrossGuard pack: the rules of rules.py as pulumi-policy policies.

Rules that one resource can decide are ResourceValidationPolicies (they run before the resource
is created, in `pulumi up` as in `preview`); rules that join resources are StackValidationPolicies
(they see every resource with its property dependencies; in `pulumi up` they run after the update,
so the pull request's `pulumi preview --policy-pack` is where they gate).

The enforcement level of every policy comes from the pack's config: `policies/config/<tier>.json`
(prod: mandatory, dev: advisory), passed with `--policy-pack-config`. Without one, the pack is
mandatory: a stack nobody classified is held to production's rules.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import (EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy,
                           StackValidationArgs, StackValidationPolicy)

from berth_policy.adapters import facts
from berth_policy.facts import Resource
from berth_policy.rules import RULES, Rule


def resource_of(args: ResourceValidationArgs) -> Resource:
    return Resource(type=args.resource_type, name=args.name, urn=args.urn, props=args.props,
                    protect=bool(getattr(args.opts, "protect", False)))


def stack_resources(policy_resources: list[Any]) -> list[Resource]:
    """PolicyResources → Resources whose `deps` point at each other, as the engine reported them."""
    plain = {r.urn: Resource(type=r.resource_type, name=r.name, urn=r.urn, props=r.props,
                             protect=bool(getattr(r.opts, "protect", False))) for r in policy_resources}
    out = []
    for r in policy_resources:
        deps = {prop: tuple(plain[d.urn] for d in found if d.urn in plain)
                for prop, found in (r.property_dependencies or {}).items()}
        base = plain[r.urn]
        out.append(Resource(base.type, base.name, base.urn, base.props, base.protect, deps))
    return out


def _resource_policy(rule: Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for fact in facts([resource_of(args)], whole_stack=False):
            for message in rule.check(fact):
                report(message, None)

    return ResourceValidationPolicy(name=rule.name, description=rule.description, validate=validate)


def _stack_policy(rule: Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        for fact in facts(stack_resources(list(args.resources)), whole_stack=True):
            for message in rule.check(fact):
                report(message, fact.resource.urn)

    return StackValidationPolicy(name=rule.name, description=rule.description, validate=validate)


POLICIES = [(_stack_policy if rule.whole_stack else _resource_policy)(rule) for rule in RULES]
DEFAULT_ENFORCEMENT = EnforcementLevel.MANDATORY
