"""The CrossGuard entry: `pulumi preview --policy-pack policies`. The rules live in rules.py so the
offline plan (infra/policy.py) runs exactly the same ones without a Pulumi engine."""

from pulumi_policy import EnforcementLevel, PolicyPack

from rules import POLICIES

PolicyPack(name="berth", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
