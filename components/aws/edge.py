"""The way in: an ALB with TLS (ACM), HTTP → HTTPS, a WAF with a per-IP rate limit, a target group
per web service, and (in prod) access logs to an S3 bucket only the ELB service may write to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from infra.spec import Service

COMMON_RULES = "AWSManagedRulesCommonRuleSet"


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
        elb = aws.elb.get_service_account_output()
        self.log_bucket_policy_document = pulumi.Output.json_dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "ElbWritesAccessLogs", "Effect": "Allow", "Principal": {"AWS": elb.arn},
                 "Action": "s3:PutObject",
                 "Resource": pulumi.Output.concat(bucket.arn, "/alb/AWSLogs/", account, "/*")},
                {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            ],
        })
        policy = aws.s3.BucketPolicy("access-logs", bucket=bucket.id, policy=self.log_bucket_policy_document,
                                     opts=child)
        return bucket, policy
