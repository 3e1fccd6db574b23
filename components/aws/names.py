"""AWS's rules for the physical names berth sets: length, characters, and where they must be unique.

The plan (infra/engine.py) refuses a name that breaks one, so a stack that plans is one AWS accepts.
A name unique "per type" is unique in the plan, which is one account and region (IAM names are
account-wide: one more reason they are prefixes here, completed by the provider).

Each rule is the API reference's own constraint (quoted in `what`; botocore ships the same text
and, where the API has one, the same pattern). Names the provider completes from a prefix
(`namePrefix`, `bucketPrefix`) get a 26-character unique suffix (terraform's `id.UniqueId`), so
the limit applies to prefix + 26. Resources berth leaves to Pulumi's auto-naming (target groups,
inline role policies) have no name in the recorded inputs and are unique by construction.

Longest names config accepts: the `<project>-<stack>` prefix is ≤ 27 characters and a service
name ≤ 24, lower case with single hyphens; every name below stays valid at those lengths
(tests/test_aws_names.py plans such a stack).
"""

from __future__ import annotations

from infra.engine import NameRule

# What the provider appends to a name prefix (terraform-plugin-sdk id.UniqueIdPrefix: a 26-digit
# timestamp and counter).
UNIQUE_SUFFIX = 26

# Letters, digits and single hyphens, a letter first, no hyphen last (RDS, ElastiCache).
LETTER_SINGLE_HYPHENS = r"[a-z](?:-?[a-z0-9])*"
# Alphanumerics and hyphens, not first or last (ELB).
ALNUM_INNER_HYPHENS = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
ECS_NAME = r"[A-Za-z0-9_-]+"

PHYSICAL_NAMES: dict[str, NameRule] = {
    # elasticloadbalancing CreateLoadBalancer/CreateTargetGroup: "a maximum of 32 characters, must
    # contain only alphanumeric characters or hyphens, must not begin or end with a hyphen, and
    # must not begin with 'internal-'" (the last for load balancers only).
    "aws:lb/loadBalancer:LoadBalancer": NameRule(
        "name", 32, rf"(?!internal-){ALNUM_INNER_HYPHENS}",
        "ELB: ≤ 32 alphanumerics or hyphens, no hyphen first or last, not 'internal-…'"),
    "aws:lb/targetGroup:TargetGroup": NameRule(
        "name", 32, ALNUM_INNER_HYPHENS, "ELB: ≤ 32 alphanumerics or hyphens, no hyphen first or last"),
    # IAM roleNameType: [\w+=,.@-]+, 1–64; names are account-wide, so berth gives a prefix.
    "aws:iam/role:Role": NameRule(
        "namePrefix", 64, r"[A-Za-z0-9_+=,.@-]+", "IAM: ≤ 64 of letters, digits and +=,.@_-",
        suffix_len=UNIQUE_SUFFIX),
    # rds CreateDBInstance: "1 to 63 letters, numbers, or hyphens; first character a letter; can't
    # end with a hyphen or contain two consecutive hyphens"; stored lower case (the provider
    # accepts lower case only).
    "aws:rds/instance:Instance": NameRule(
        "identifier", 63, LETTER_SINGLE_HYPHENS,
        "RDS: ≤ 63 lower-case letters, digits, single hyphens, a letter first, no hyphen last"),
    # CreateDBParameterGroup: "1 to 255 letters, numbers, or hyphens; first a letter; can't end
    # with a hyphen or contain two consecutive hyphens".
    "aws:rds/parameterGroup:ParameterGroup": NameRule(
        "name", 255, LETTER_SINGLE_HYPHENS,
        "RDS: ≤ 255 lower-case letters, digits, single hyphens, a letter first, no hyphen last"),
    # CreateDBSubnetGroup: "no more than 255 letters, numbers, periods, underscores, spaces, or
    # hyphens; must not be default; first character must be a letter".
    "aws:rds/subnetGroup:SubnetGroup": NameRule(
        "name", 255, r"(?!default$)[a-z][a-z0-9 ._-]*",
        "RDS: ≤ 255 lower-case letters, digits, spaces . _ -, a letter first, not 'default'"),
    # elasticache CreateReplicationGroup: "1 to 40 alphanumeric characters or hyphens; first a
    # letter; cannot end with a hyphen or contain two consecutive hyphens"; stored lower case.
    "aws:elasticache/replicationGroup:ReplicationGroup": NameRule(
        "replicationGroupId", 40, LETTER_SINGLE_HYPHENS,
        "ElastiCache: ≤ 40 lower-case letters, digits, single hyphens, a letter first, no hyphen last"),
    # CreateCacheSubnetGroup: "no more than 255 alphanumeric characters or hyphens".
    "aws:elasticache/subnetGroup:SubnetGroup": NameRule(
        "name", 255, r"[a-z0-9-]+", "ElastiCache: ≤ 255 lower-case alphanumerics or hyphens"),
    # ecs: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens";
    # service names are unique within their cluster.
    "aws:ecs/cluster:Cluster": NameRule("name", 255, ECS_NAME, "ECS: ≤ 255 of letters, digits, _ -"),
    "aws:ecs/service:Service": NameRule("name", 255, ECS_NAME, "ECS: ≤ 255 of letters, digits, _ -",
                                        unique_within=("cluster",)),
    "aws:ecs/taskDefinition:TaskDefinition": NameRule("family", 255, ECS_NAME, "ECS: ≤ 255 of letters, digits, _ -"),
    # ecr RepositoryName: 2–256, botocore's pattern.
    "aws:ecr/repository:Repository": NameRule(
        "name", 256, r"(?=.{2,})[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*",
        "ECR: 2–256, lower-case path segments separated by . _ __ -"),
    # logs LogGroupName: [\.\-_/#A-Za-z0-9]+, 1–512.
    "aws:cloudwatch/logGroup:LogGroup": NameRule(
        "name", 512, r"[.\-_/#A-Za-z0-9]+", "CloudWatch Logs: ≤ 512 of . - _ / # and alphanumerics"),
    # cloudwatch AlarmName: 1–255, "UTF-8 characters, and can't contain ASCII control characters".
    "aws:cloudwatch/metricAlarm:MetricAlarm": NameRule(
        "name", 255, r"[^\x00-\x1f\x7f]+", "CloudWatch: ≤ 255, no control characters"),
    # PutDashboard: "maximum length is 255, and valid characters are A-Z, a-z, 0-9, "-", and "_"".
    "aws:cloudwatch/dashboard:Dashboard": NameRule(
        "dashboardName", 255, r"[A-Za-z0-9_-]+", "CloudWatch: ≤ 255 of A-Z a-z 0-9 - _"),
    # secretsmanager CreateSecret: 1–512 "ASCII letters, numbers, and /_+=.@-". (Its advice not to
    # end in a hyphen and six characters concerns look-ups by partial ARN; berth uses full ARNs.)
    "aws:secretsmanager/secret:Secret": NameRule(
        "name", 512, r"[A-Za-z0-9/_+=.@-]+", "Secrets Manager: ≤ 512 of ASCII letters, digits, /_+=.@-"),
    # sns CreateTopic: "only uppercase and lowercase ASCII letters, numbers, underscores, and
    # hyphens, … between 1 and 256 characters".
    "aws:sns/topic:Topic": NameRule("name", 256, r"[A-Za-z0-9_-]+", "SNS: ≤ 256 of ASCII letters, digits, _ -"),
    # ec2 CreateSecurityGroup: "Up to 255 characters … Can't start with sg-. Valid characters: a-z,
    # A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"; unique within the VPC (berth gives a prefix).
    "aws:ec2/securityGroup:SecurityGroup": NameRule(
        "namePrefix", 255, r"(?!sg-)[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+",
        "EC2: ≤ 255 of letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*, not 'sg-…'",
        suffix_len=UNIQUE_SUFFIX),
    # wafv2 EntityName: ^[\w\-]+$, 1–128.
    "aws:wafv2/webAcl:WebAcl": NameRule("name", 128, r"[A-Za-z0-9_-]+", "WAF: ≤ 128 of letters, digits, _ -"),
    # application-autoscaling PolicyName: \p{Print}+, 1–256, unique per scalable target.
    "aws:appautoscaling/policy:Policy": NameRule(
        "name", 256, r"[\x20-\x7e]+", "Application Auto Scaling: ≤ 256 printable ASCII",
        unique_within=("resourceId",)),
    # S3 bucket naming rules: 3–63 lower-case letters, digits, dots and hyphens, beginning and
    # ending with a letter or digit, no two adjacent periods, not 'xn--', 'sthree-' or
    # 'amzn-s3-demo-' first. berth gives a prefix; the provider appends 26 digits.
    "aws:s3/bucket:Bucket": NameRule(
        "bucketPrefix", 63, r"(?!xn--|sthree-|amzn-s3-demo-)(?!.*\.\.)[a-z0-9][a-z0-9.-]*",
        "S3: ≤ 63 lower-case letters, digits, . -, a letter or digit first",
        suffix_len=UNIQUE_SUFFIX),
}


def name_prefix(text: str, limit: int) -> str:
    """`text` cut to `limit` characters for a name prefix the provider completes with a unique
    suffix. Cutting cannot make two names collide (the suffix is unique); it only shortens the
    readable part."""
    return text[:limit]
