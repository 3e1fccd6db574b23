"""The way in: an ALB with TLS (ACM), HTTP → HTTPS, a WAF with a per-IP rate limit, a target group
per web service, and (where the tier says so) deletion protection, WAF logs in CloudWatch Logs
with credentials redacted, and access logs to an S3 bucket only Elastic Load Balancing may write to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from infra.spec import Service

COMMON_RULES = "AWSManagedRulesCommonRuleSet"
# WAF delivers only to a destination whose name starts so.
WAF_LOG_GROUP_PREFIX = "aws-waf-logs-"
# Request headers that carry credentials: WAF logs show them as REDACTED (names in lower case).
REDACTED_HEADERS = ("authorization", "cookie")
# Regions opened before August 2022 deliver ALB access logs as their own Elastic Load Balancing
# account (aws.elb.get_service_account knows it, and fails for any other region); newer ones as
# the logdelivery.elasticloadbalancing.amazonaws.com service principal. The bucket policy grants
# both where the region has an account (as terraform-aws-modules' s3-bucket does), so no region
# fails. The list: Elastic Load Balancing's "Attach a policy to your S3 bucket".
ELB_ACCOUNT_REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    "ap-southeast-3", "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3",
    "eu-south-1", "eu-north-1", "me-south-1", "sa-east-1", "us-gov-west-1", "us-gov-east-1",
    "cn-north-1", "cn-northwest-1",
})
ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"


@dataclass
class EdgeArgs:
    prefix: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    web_services: Sequence[Service]
    domain: Optional[str]
    zone_id: Optional[str]
    certificate_arn: Optional[str]
    tls_policy: str
    rate_limit_per_5min: int
    access_logs: bool
    access_logs_days: int
    deregistration_delay_seconds: int
    region: pulumi.Input[str]
    idle_timeout_seconds: int
    deletion_protection: bool
    waf_logs: bool
    log_retention_days: int


def visibility(metric: str) -> dict:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


class Edge(pulumi.ComponentResource):
    alb: aws.lb.LoadBalancer
    target_groups: dict[str, aws.lb.TargetGroup]
    listeners: list[aws.lb.Listener]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:aws:Edge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        depends: list[pulumi.Resource] = []
        access_logs = None
        if args.access_logs:
            bucket, policy = self._log_bucket(args)
            access_logs = {"bucket": bucket.bucket, "enabled": True, "prefix": "alb"}
            depends.append(policy)  # the ALB checks it may write before it starts
        self.alb = aws.lb.LoadBalancer(
            "alb", name=args.prefix[:32], load_balancer_type="application", internal=False,
            subnets=list(args.subnet_ids), security_groups=[args.security_group_id],
            drop_invalid_header_fields=True,  # header smuggling never reaches the app
            # Stated, not AWS's default: the services keep connections open longer (KEEPALIVE_SECONDS).
            idle_timeout=args.idle_timeout_seconds,
            enable_deletion_protection=args.deletion_protection,
            access_logs=access_logs,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends))

        self.target_groups = {}
        for svc in args.web_services:
            ready = svc.probes.readiness
            # Autonamed: a port change replaces the group, and a fixed name would collide.
            self.target_groups[svc.name] = aws.lb.TargetGroup(
                svc.name, port=svc.port, protocol="HTTP", target_type="ip", vpc_id=args.vpc_id,
                deregistration_delay=args.deregistration_delay_seconds,
                health_check={
                    "enabled": True, "path": ready.path, "protocol": "HTTP", "port": "traffic-port",
                    "matcher": "200", "interval": ready.period_seconds, "timeout": ready.timeout_seconds,
                    "healthy_threshold": 2, "unhealthy_threshold": ready.failure_threshold,
                },
                opts=pulumi.ResourceOptions(parent=self))

        first = args.web_services[0].name
        forward = [{"type": "forward", "target_group_arn": self.target_groups[first].arn}]
        tls = args.domain is not None
        if tls:
            certificate = self._certificate(args)
            https = aws.lb.Listener(
                "https", load_balancer_arn=self.alb.arn, port=443, protocol="HTTPS",
                ssl_policy=args.tls_policy, certificate_arn=certificate, default_actions=forward, opts=child)
            http = aws.lb.Listener(
                "http", load_balancer_arn=self.alb.arn, port=80, protocol="HTTP",
                default_actions=[{"type": "redirect", "redirect": {
                    "port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}], opts=child)
            self.listeners = [https, http]
            main = https
            self.url = pulumi.Output.from_input(f"https://{args.domain}")
        else:
            # No domain (a dev stack): plain HTTP on the ALB's own name. Tiers with require_tls refuse this.
            main = aws.lb.Listener("http", load_balancer_arn=self.alb.arn, port=80, protocol="HTTP",
                                   default_actions=forward, opts=child)
            self.listeners = [main]
            self.url = pulumi.Output.concat("http://", self.alb.dns_name)
        # Further web services by path: /<name>/…
        for i, svc in enumerate(args.web_services[1:]):
            aws.lb.ListenerRule(
                svc.name, listener_arn=main.arn, priority=10 + i,
                actions=[{"type": "forward", "target_group_arn": self.target_groups[svc.name].arn}],
                conditions=[{"path_pattern": {"values": [f"/{svc.name}/*"]}}], opts=child)

        if tls and args.zone_id is not None:
            aws.route53.Record("alias", zone_id=args.zone_id, name=args.domain, type="A",
                               aliases=[{"name": self.alb.dns_name, "zone_id": self.alb.zone_id,
                                         "evaluate_target_health": True}], opts=child)
        self._firewall(args)
        self.register_outputs({"alb": self.alb.dns_name, "url": self.url})

    def _certificate(self, args: EdgeArgs) -> pulumi.Input[str]:
        if args.certificate_arn is not None:
            return args.certificate_arn
        child = pulumi.ResourceOptions(parent=self)
        cert = aws.acm.Certificate("certificate", domain_name=args.domain, validation_method="DNS",
                                   opts=pulumi.ResourceOptions(parent=self))
        option = cert.domain_validation_options.apply(lambda opts: opts[0])
        record = aws.route53.Record(
            "certificate-validation", zone_id=args.zone_id, name=option.resource_record_name,
            type=option.resource_record_type, records=[option.resource_record_value], ttl=60,
            allow_overwrite=True, opts=child)
        # The listener waits for the certificate to be issued, not merely requested.
        validation = aws.acm.CertificateValidation("certificate", certificate_arn=cert.arn,
                                                   validation_record_fqdns=[record.fqdn], opts=child)
        return validation.certificate_arn

    def _firewall(self, args: EdgeArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        acl = aws.wafv2.WebAcl(
            "waf", name=f"{args.prefix}-edge", scope="REGIONAL", default_action={"allow": {}},
            rules=[
                {"name": "rate-limit-per-ip", "priority": 0, "action": {"block": {}},
                 "statement": {"rate_based_statement": {
                     "limit": args.rate_limit_per_5min, "aggregate_key_type": "IP", "evaluation_window_sec": 300}},
                 "visibility_config": visibility(f"{args.prefix}-rate-limit")},
                {"name": COMMON_RULES, "priority": 1, "override_action": {"none": {}},
                 "statement": {"managed_rule_group_statement": {"name": COMMON_RULES, "vendor_name": "AWS"}},
                 "visibility_config": visibility(f"{args.prefix}-common-rules")},
            ],
            visibility_config=visibility(f"{args.prefix}-edge"), opts=child)
        aws.wafv2.WebAclAssociation("waf", resource_arn=self.alb.arn, web_acl_arn=acl.arn, opts=child)
        if args.waf_logs:
            logs = aws.cloudwatch.LogGroup("waf-logs", name=f"{WAF_LOG_GROUP_PREFIX}{args.prefix}",
                                           retention_in_days=args.log_retention_days, opts=child)
            aws.wafv2.WebAclLoggingConfiguration(
                "waf", resource_arn=acl.arn, log_destination_configs=[logs.arn],
                redacted_fields=[{"single_header": {"name": h}} for h in REDACTED_HEADERS], opts=child)

    def _log_bucket(self, args: EdgeArgs):
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket("access-logs", bucket_prefix=f"{args.prefix}-alb-logs-", opts=child)
        aws.s3.BucketPublicAccessBlock("access-logs", bucket=bucket.id, block_public_acls=True,
                                       block_public_policy=True, ignore_public_acls=True,
                                       restrict_public_buckets=True, opts=child)
        aws.s3.BucketOwnershipControls("access-logs", bucket=bucket.id,
                                       rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
        # ALB access logs support SSE-S3 only.
        aws.s3.BucketServerSideEncryptionConfiguration(
            "access-logs", bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}], opts=child)
        aws.s3.BucketLifecycleConfiguration(
            "access-logs", bucket=bucket.id,
            rules=[{"id": "expire", "status": "Enabled", "filter": {},
                    "expiration": {"days": args.access_logs_days}}], opts=child)
        account = aws.get_caller_identity_output().account_id
        self.log_bucket_policy_document = pulumi.Output.all(
            bucket.arn, account, pulumi.Output.from_input(args.region)).apply(
            lambda a: log_bucket_policy(*a))
        policy = aws.s3.BucketPolicy("access-logs", bucket=bucket.id, policy=self.log_bucket_policy_document,
                                     opts=child)
        return bucket, policy


def log_bucket_policy(bucket_arn: str, account: str, region: str) -> pulumi.Output[str]:
    """ALB access logs may be written under `alb/AWSLogs/<account>/` and nothing else; TLS only."""
    objects = f"{bucket_arn}/alb/AWSLogs/{account}/*"
    writers: list[pulumi.Input[dict]] = []
    if region in ELB_ACCOUNT_REGIONS:
        elb = aws.elb.get_service_account_output(region=region)
        writers.append({"Sid": "ElbAccountWritesAccessLogs", "Effect": "Allow", "Principal": {"AWS": elb.arn},
                        "Action": "s3:PutObject", "Resource": objects})
    writers.append({"Sid": "ElbLogDeliveryWritesAccessLogs", "Effect": "Allow",
                    "Principal": {"Service": ELB_LOG_DELIVERY}, "Action": "s3:PutObject", "Resource": objects})
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
        *writers,
        {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [bucket_arn, f"{bucket_arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]})
