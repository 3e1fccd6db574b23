"""The CrossGuard entry: `pulumi preview --policy-pack policies --policy-pack-config policies/config/<tier>.json`.

The rules live in berth_policy/ so the offline plan (infra/policy.py) runs exactly the same ones
without a Pulumi engine.
"""

from pulumi_policy import PolicyPack

from berth_policy import DEFAULT_ENFORCEMENT, POLICIES

PolicyPack(name="berth", enforcement_level=DEFAULT_ENFORCEMENT, policies=POLICIES)
