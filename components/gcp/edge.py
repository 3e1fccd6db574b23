"""The way in: a global external Application Load Balancer on a reserved address. A serverless NEG
and a backend service per web service, each behind a Cloud Armor policy with a per-client rate
limit; the first web service takes `/`, each further one `/<name>/…` (the prefix is stripped, so the
service sees its own paths). With a domain: a Google-managed certificate, HTTPS only, and HTTP
answered with a redirect to HTTPS. Without one (a dev tier): plain HTTP on the address.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.gcp import names
from infra.spec import Service

# The rule every Cloud Armor policy ends with; lower numbers are evaluated first.
DEFAULT_RULE_PRIORITY = 2147483647
RATE_RULE_PRIORITY = 1000


@dataclass
class EdgeArgs:
    prefix: str
    region: str
    web_services: Sequence[Service]
    run_services: dict[str, pulumi.Input[str]]  # spec name → Cloud Run service name
    domain: Optional[str]
    tls_profile: str
    min_tls_version: str
    keepalive_seconds: int
    rate_limit_count: int
    rate_limit_interval_seconds: int
    access_logs: bool


def route_prefix(service: str) -> str:
    return f"/{service}/"


class Edge(pulumi.ComponentResource):
    address: gcp.compute.GlobalAddress
    backends: dict[str, gcp.compute.BackendService]
    url: pulumi.Output[str]
    host: pulumi.Output[str]  # what the uptime check asks for: the domain, or the address
    tls: bool

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:gcp:Edge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.address = gcp.compute.GlobalAddress(
            "address", name=names.compute(args.prefix, "lb"), address_type="EXTERNAL", ip_version="IPV4", opts=child)
        armor = self._armor(args)
        self.backends = {}
        for svc in args.web_services:
            neg = gcp.compute.RegionNetworkEndpointGroup(
                f"{svc.name}-neg", name=names.compute(args.prefix, svc.name), region=args.region,
                network_endpoint_type="SERVERLESS", cloud_run={"service": args.run_services[svc.name]}, opts=child)
            # Serverless NEGs take no health check and no timeout: Cloud Run's own apply.
            self.backends[svc.name] = gcp.compute.BackendService(
                f"{svc.name}-backend", name=names.compute(args.prefix, svc.name),
                load_balancing_scheme="EXTERNAL_MANAGED", protocol="HTTPS",
                backends=[{"group": neg.id}], security_policy=armor.id,
                log_config={"enable": args.access_logs, "sample_rate": 1.0 if args.access_logs else 0.0},
                description=f"berth {args.prefix}: {svc.name}", opts=child)
        first = args.web_services[0].name
        self._first = first
        further = args.web_services[1:]
        url_map = gcp.compute.URLMap(
            "routes", name=names.compute(args.prefix, "routes"), default_service=self.backends[first].id,
            host_rules=[{"hosts": ["*"], "path_matcher": "services"}] if further else None,
            path_matchers=[{
                "name": "services", "default_service": self.backends[first].id,
                "route_rules": [
                    {"priority": i + 1, "service": self.backends[svc.name].id,
                     "match_rules": [{"prefix_match": route_prefix(svc.name)}],
                     "route_action": {"url_rewrite": {"path_prefix_rewrite": "/"}}}
                    for i, svc in enumerate(further)],
            }] if further else None,
            opts=child)
        self.tls = args.domain is not None
        if self.tls:
            self._https(args, url_map)
            self.url = pulumi.Output.from_input(f"https://{args.domain}")
            self.host = pulumi.Output.from_input(args.domain)
        else:
            proxy = gcp.compute.TargetHttpProxy(
                "http", name=names.compute(args.prefix, "http"), url_map=url_map.id,
                http_keep_alive_timeout_sec=args.keepalive_seconds, opts=child)
            self._forward("http", args, proxy.id, "80")
            self.url = pulumi.Output.concat("http://", self.address.address)
            self.host = self.address.address
        self.register_outputs({"address": self.address.address, "url": self.url})

    def public_path(self, service: str, path: str) -> str:
        """Where `path` of `service` is reached through the load balancer."""
        return path if service == self._first else route_prefix(service).rstrip("/") + path

    def _forward(self, name: str, args: EdgeArgs, target: pulumi.Input[str], port: str) -> None:
        gcp.compute.GlobalForwardingRule(
            name, name=names.compute(args.prefix, name), target=target, ip_address=self.address.id,
            port_range=port, ip_protocol="TCP", load_balancing_scheme="EXTERNAL_MANAGED",
            opts=pulumi.ResourceOptions(parent=self))

    def _https(self, args: EdgeArgs, url_map: gcp.compute.URLMap) -> None:
        child = pulumi.ResourceOptions(parent=self)
        # Named after the domain: a new domain is a new certificate beside the old one, not a clash.
        tag = hashlib.sha256(args.domain.encode()).hexdigest()[:6]
        cert = gcp.compute.ManagedSslCertificate(
            "certificate", name=names.compute(args.prefix, "cert", tag), managed={"domains": [args.domain]},
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False))
        policy = gcp.compute.SSLPolicy("tls", name=names.compute(args.prefix, "tls"), profile=args.tls_profile,
                                       min_tls_version=args.min_tls_version, opts=child)
        https = gcp.compute.TargetHttpsProxy(
            "https", name=names.compute(args.prefix, "https"), url_map=url_map.id, ssl_certificates=[cert.id],
            ssl_policy=policy.id, http_keep_alive_timeout_sec=args.keepalive_seconds, opts=child)
        self._forward("https", args, https.id, "443")
        redirect = gcp.compute.URLMap(
            "redirect", name=names.compute(args.prefix, "redirect"),
            default_url_redirect={"https_redirect": True, "strip_query": False,
                                  "redirect_response_code": "MOVED_PERMANENTLY_DEFAULT"},
            opts=child)
        http = gcp.compute.TargetHttpProxy(
            "http", name=names.compute(args.prefix, "http"), url_map=redirect.id,
            http_keep_alive_timeout_sec=args.keepalive_seconds, opts=child)
        self._forward("http", args, http.id, "80")

    def _armor(self, args: EdgeArgs) -> gcp.compute.SecurityPolicy:
        everyone = {"versioned_expr": "SRC_IPS_V1", "config": {"src_ip_ranges": ["*"]}}
        return gcp.compute.SecurityPolicy(
            "armor", name=names.compute(args.prefix, "edge"), type="CLOUD_ARMOR",
            description=f"berth {args.prefix}: per-client rate limit",
            rules=[
                {"priority": RATE_RULE_PRIORITY, "action": "throttle", "match": everyone,
                 "description": f"at most {args.rate_limit_count} requests per client per "
                                f"{args.rate_limit_interval_seconds} s",
                 "rate_limit_options": {
                     "conform_action": "allow", "exceed_action": "deny(429)", "enforce_on_key": "IP",
                     "rate_limit_threshold": {"count": args.rate_limit_count,
                                              "interval_sec": args.rate_limit_interval_seconds}}},
                {"priority": DEFAULT_RULE_PRIORITY, "action": "allow", "match": everyone,
                 "description": "everything else"},
            ],
            opts=pulumi.ResourceOptions(parent=self))
