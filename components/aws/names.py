"""AWS's rules for the physical names berth sets: length, characters, and where they must be unique.

The plan (infra/engine.py) refuses a name that breaks one, so a stack that plans is one AWS accepts.
A name unique "per type" is unique in the plan, which is one account and region.
"""

from infra.engine import NameRule

LOWER_HYPHENS = r"[a-z](-?[a-z0-9])*"
ALNUM_HYPHENS = r"[A-Za-z0-9](-?[A-Za-z0-9])*"

PHYSICAL_NAMES = {
    "aws:lb/loadBalancer:LoadBalancer": NameRule("name", 32, ALNUM_HYPHENS, "ELB: ≤ 32 alphanumerics and single hyphens"),
    "aws:lb/targetGroup:TargetGroup": NameRule("name", 32, ALNUM_HYPHENS, "ELB: ≤ 32 alphanumerics and single hyphens"),
    "aws:iam/role:Role": NameRule("name", 64, r"[\w+=,.@-]+", "IAM: ≤ 64 of letters, digits and +=,.@_-"),
    "aws:rds/instance:Instance": NameRule("identifier", 63, LOWER_HYPHENS, "RDS: ≤ 63, a letter first, lower case, single hyphens"),
    "aws:rds/parameterGroup:ParameterGroup": NameRule("name", 255, LOWER_HYPHENS, "RDS: a letter first, lower case, single hyphens"),
    "aws:rds/subnetGroup:SubnetGroup": NameRule("name", 255, r"[a-z0-9 ._-]+", "RDS: lower case, digits, space . _ -"),
    "aws:elasticache/replicationGroup:ReplicationGroup": NameRule(
        "replicationGroupId", 40, LOWER_HYPHENS, "ElastiCache: ≤ 40, a letter first, lower case, single hyphens"),
    "aws:elasticache/subnetGroup:SubnetGroup": NameRule("name", 255, r"[a-z0-9-]+", "ElastiCache: lower case and hyphens"),
    "aws:ecs/cluster:Cluster": NameRule("name", 255, r"[A-Za-z0-9_-]+", "ECS: ≤ 255 of letters, digits, _ -"),
    "aws:ecs/service:Service": NameRule("name", 255, r"[A-Za-z0-9_-]+", "ECS: ≤ 255 of letters, digits, _ -",
                                        unique_within=("cluster",)),
    "aws:ecs/taskDefinition:TaskDefinition": NameRule("family", 255, r"[A-Za-z0-9_-]+", "ECS: ≤ 255 of letters, digits, _ -"),
    "aws:ecr/repository:Repository": NameRule(
        "name", 256, r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*", "ECR: lower case path"),
    "aws:cloudwatch/logGroup:LogGroup": NameRule("name", 512, r"[\.\-_/#A-Za-z0-9]+", "CloudWatch Logs: ≤ 512 of . - _ / # alphanumerics"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": NameRule("name", 255, r"[^\x00-\x1f]+", "CloudWatch: ≤ 255 printable"),
    "aws:cloudwatch/dashboard:Dashboard": NameRule("dashboardName", 255, r"[A-Za-z0-9_-]+", "CloudWatch: ≤ 255 of letters, digits, _ -"),
    "aws:secretsmanager/secret:Secret": NameRule("name", 512, r"[\w/+=.@-]+", "Secrets Manager: ≤ 512 of letters, digits, /_+=.@-"),
    "aws:sns/topic:Topic": NameRule("name", 256, r"[\w-]+", "SNS: ≤ 256 of letters, digits, _ -"),
    "aws:ec2/securityGroup:SecurityGroup": NameRule("name", 255, r"[\w .:/()#,@\[\]+=&;{}!$*-]+", "EC2: ≤ 255",
                                                    unique_within=("vpcId",)),
    "aws:wafv2/webAcl:WebAcl": NameRule("name", 128, r"[\w-]+", "WAF: ≤ 128 of letters, digits, _ -"),
    "aws:appautoscaling/policy:Policy": NameRule("name", 256, r"[^:]+", "Application Auto Scaling: ≤ 256, no ':'",
                                                 unique_within=("resourceId",)),
    # The provider appends 26 characters to a bucket prefix; S3 allows 63 in all.
    "aws:s3/bucket:Bucket": NameRule("bucketPrefix", 63, r"[a-z0-9][a-z0-9.-]*", "S3: ≤ 63, lower case, digits, . -",
                                     suffix_len=26),
}
