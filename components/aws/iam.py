"""IAM documents berth's roles share: who may assume a role, and on whose behalf."""

from __future__ import annotations

from typing import Any, Optional

import pulumi


def assume_role_policy(service: str, account: pulumi.Input[str],
                       source_arn: Optional[pulumi.Input[str]] = None) -> pulumi.Output[str]:
    """Only `service`, and only on behalf of this account (and, given, of `source_arn`): no
    confused deputy."""
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account}}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole", "Condition": condition}]})
