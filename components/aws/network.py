"""The VPC (new, or an existing one by id) and the security groups between its tiers.

Traffic allowed, and nothing else: internet → ALB on 80/443; ALB → tasks on each service port;
tasks → database and cache on their ports, and → HTTPS anywhere (ECR, Secrets Manager, CloudWatch
Logs and the APIs the service calls, through NAT).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

ANYWHERE = "0.0.0.0/0"


@dataclass
class NetworkArgs:
    prefix: str
    zones: int
    nat_gateways: str  # "one" | "per_zone"
    cidr: str
    vpc_id: Optional[str]
    public_subnet_ids: Sequence[str]
    private_subnet_ids: Sequence[str]
    service_ports: Sequence[int]  # the web services' container ports
    tls: bool
    database_port: Optional[int]
    cache_port: Optional[int]


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    alb_sg: aws.ec2.SecurityGroup
    tasks_sg: aws.ec2.SecurityGroup
    database_sg: Optional[aws.ec2.SecurityGroup]
    cache_sg: Optional[aws.ec2.SecurityGroup]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:aws:Network", name, None, opts)
        self._child = pulumi.ResourceOptions(parent=self)
        self._prefix = args.prefix
        if args.vpc_id is not None:
            self.vpc_id = pulumi.Output.from_input(args.vpc_id)
            self.public_subnet_ids = [pulumi.Output.from_input(s) for s in args.public_subnet_ids]
            self.private_subnet_ids = [pulumi.Output.from_input(s) for s in args.private_subnet_ids]
        else:
            self._new_vpc(args)
        self._security_groups(args)
        self.register_outputs({"vpc_id": self.vpc_id})

    def _tags(self, name: str) -> dict[str, str]:
        return {"Name": f"{self._prefix}-{name}"}

    def _new_vpc(self, args: NetworkArgs) -> None:
        child = self._child
        zones = aws.get_availability_zones_output(state="available").names
        vpc = aws.ec2.Vpc("vpc", cidr_block=args.cidr, enable_dns_hostnames=True, enable_dns_support=True,
                          tags=self._tags("vpc"), opts=child)
        self.vpc_id = vpc.id
        # /24s: public ones first, private ones after, one of each per zone.
        blocks = list(ipaddress.IPv4Network(args.cidr).subnets(new_prefix=24))
        igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id, tags=self._tags("igw"), opts=child)
        public_rt = aws.ec2.RouteTable("public", vpc_id=vpc.id, tags=self._tags("public"), opts=child)
        aws.ec2.Route("public-internet", route_table_id=public_rt.id, destination_cidr_block=ANYWHERE,
                      gateway_id=igw.id, opts=child)
        self.public_subnet_ids, self.private_subnet_ids = [], []
        nats: list[aws.ec2.NatGateway] = []
        for i in range(args.zones):
            az = zones.apply(lambda names, i=i: names[i])
            public = aws.ec2.Subnet(f"public-{i}", vpc_id=vpc.id, cidr_block=str(blocks[i]), availability_zone=az,
                                    map_public_ip_on_launch=False, tags=self._tags(f"public-{i}"), opts=child)
            aws.ec2.RouteTableAssociation(f"public-{i}", subnet_id=public.id, route_table_id=public_rt.id, opts=child)
            private = aws.ec2.Subnet(f"private-{i}", vpc_id=vpc.id, cidr_block=str(blocks[args.zones + i]),
                                     availability_zone=az, tags=self._tags(f"private-{i}"), opts=child)
            self.public_subnet_ids.append(public.id)
            self.private_subnet_ids.append(private.id)
            # One NAT is cheap (dev); one per zone survives the loss of a zone (prod).
            if args.nat_gateways == "per_zone" or i == 0:
                eip = aws.ec2.Eip(f"nat-{i}", domain="vpc", tags=self._tags(f"nat-{i}"), opts=child)
                nats.append(aws.ec2.NatGateway(f"nat-{i}", allocation_id=eip.id, subnet_id=public.id,
                                               tags=self._tags(f"nat-{i}"),
                                               opts=pulumi.ResourceOptions(parent=self, depends_on=[igw])))
            rt = aws.ec2.RouteTable(f"private-{i}", vpc_id=vpc.id, tags=self._tags(f"private-{i}"), opts=child)
            aws.ec2.Route(f"private-{i}-nat", route_table_id=rt.id, destination_cidr_block=ANYWHERE,
                          nat_gateway_id=nats[min(i, len(nats) - 1)].id, opts=child)
            aws.ec2.RouteTableAssociation(f"private-{i}", subnet_id=private.id, route_table_id=rt.id, opts=child)

    def _group(self, name: str, description: str) -> aws.ec2.SecurityGroup:
        # No inline rules: the provider then removes AWS's default allow-all egress, and each rule
        # below is its own resource.
        return aws.ec2.SecurityGroup(name, name=f"{self._prefix}-{name}", description=description,
                                     vpc_id=self.vpc_id, tags=self._tags(name), opts=self._child)

    def _ingress(self, name: str, group, port: int, description: str, *, cidr: str | None = None, source=None):
        aws.vpc.SecurityGroupIngressRule(
            name, security_group_id=group.id, ip_protocol="tcp", from_port=port, to_port=port,
            cidr_ipv4=cidr, referenced_security_group_id=source.id if source is not None else None,
            description=description, opts=self._child)

    def _egress(self, name: str, group, port: int, description: str, *, cidr: str | None = None, dest=None):
        aws.vpc.SecurityGroupEgressRule(
            name, security_group_id=group.id, ip_protocol="tcp", from_port=port, to_port=port,
            cidr_ipv4=cidr, referenced_security_group_id=dest.id if dest is not None else None,
            description=description, opts=self._child)

    def _security_groups(self, args: NetworkArgs) -> None:
        self.alb_sg = self._group("alb", "Internet to the load balancer, HTTP and HTTPS only")
        self.tasks_sg = self._group("tasks", "Load balancer to the service tasks")
        listener_ports = (80, 443) if args.tls else (80,)
        for port in listener_ports:
            self._ingress(f"alb-in-{port}", self.alb_sg, port, f"internet to listener {port}", cidr=ANYWHERE)
        for port in sorted(set(args.service_ports)):
            self._egress(f"alb-out-{port}", self.alb_sg, port, "load balancer to tasks", dest=self.tasks_sg)
            self._ingress(f"tasks-in-{port}", self.tasks_sg, port, "from the load balancer only", source=self.alb_sg)
        # Image pulls, secrets, logs and the service's own API calls all go out over HTTPS.
        self._egress("tasks-out-https", self.tasks_sg, 443, "HTTPS to AWS APIs and external APIs", cidr=ANYWHERE)
        self.database_sg = self.cache_sg = None
        if args.database_port is not None:
            self.database_sg = self._group("database", "Service tasks to Postgres")
            self._ingress("database-in", self.database_sg, args.database_port, "from the tasks only", source=self.tasks_sg)
            self._egress("tasks-out-database", self.tasks_sg, args.database_port, "tasks to Postgres", dest=self.database_sg)
        if args.cache_port is not None:
            self.cache_sg = self._group("cache", "Service tasks to Redis")
            self._ingress("cache-in", self.cache_sg, args.cache_port, "from the tasks only", source=self.tasks_sg)
            self._egress("tasks-out-cache", self.tasks_sg, args.cache_port, "tasks to Redis", dest=self.cache_sg)
