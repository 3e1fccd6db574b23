"""The VPC (new, or an existing one by id) and the security groups between its tiers.

Traffic allowed, and nothing else: internet → ALB on 80/443; ALB → tasks on each service port;
tasks → database and cache on their ports, and → HTTPS anywhere (ECR, Secrets Manager, CloudWatch
Logs and the APIs the service calls, through NAT). A new VPC's private subnets reach S3 (where ECR
keeps image layers) through a gateway endpoint instead of the NAT gateway; flow logs (where the
tier turns them on) record every accepted and rejected connection in CloudWatch Logs.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.aws.iam import assume_role_policy
from components.aws.names import UNIQUE_SUFFIX, name_prefix

ANYWHERE = "0.0.0.0/0"
FLOW_LOG_INTERVAL_SECONDS = 60  # the shortest aggregation: a rejected connection shows within a minute


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
    region: pulumi.Input[str]
    flow_logs: bool
    s3_gateway_endpoint: bool
    log_retention_days: int


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    alb_sg: aws.ec2.SecurityGroup
    tasks_sg: aws.ec2.SecurityGroup
    database_sg: Optional[aws.ec2.SecurityGroup]
    cache_sg: Optional[aws.ec2.SecurityGroup]
    cidrs: pulumi.Output[list[str]]  # the VPC's address ranges: where the load balancer's requests come from
    private_route_table_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:aws:Network", name, None, opts)
        self._child = pulumi.ResourceOptions(parent=self)
        self._prefix = args.prefix
        self.private_route_table_ids = []
        if args.vpc_id is not None:
            self.vpc_id = pulumi.Output.from_input(args.vpc_id)
            self.public_subnet_ids = [pulumi.Output.from_input(s) for s in args.public_subnet_ids]
            self.private_subnet_ids = [pulumi.Output.from_input(s) for s in args.private_subnet_ids]
            # Every range associated with the VPC: the ALB's subnets may be in a secondary one.
            vpc = aws.ec2.get_vpc_output(id=args.vpc_id)
            self.cidrs = vpc.cidr_block_associations.apply(
                lambda blocks: sorted({b.cidr_block for b in blocks if b.state == "associated"}))
        else:
            self._new_vpc(args)
            self.cidrs = pulumi.Output.from_input([args.cidr])
            if args.s3_gateway_endpoint:
                # ECR serves image layers from S3: pulls stay off the NAT gateway (and its per-GB charge).
                aws.ec2.VpcEndpoint(
                    "s3", vpc_id=self.vpc_id, vpc_endpoint_type="Gateway",
                    service_name=pulumi.Output.concat("com.amazonaws.", args.region, ".s3"),
                    route_table_ids=self.private_route_table_ids, tags=self._tags("s3"), opts=self._child)
        if args.flow_logs:
            self._flow_logs(args)
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
            self.private_route_table_ids.append(rt.id)

    def _flow_logs(self, args: NetworkArgs) -> None:
        """Every connection in the VPC, accepted or rejected, to a log group only this role writes."""
        child = self._child
        # Under network/: a service's group is /berth/<prefix>/<service>, and no service name has a "/".
        logs = aws.cloudwatch.LogGroup("flow-logs", name=f"/berth/{args.prefix}/network/flow-logs",
                                       retention_in_days=args.log_retention_days, opts=child)
        caller = aws.get_caller_identity_output()
        partition = aws.get_partition_output().partition
        source = pulumi.Output.concat("arn:", partition, ":ec2:", args.region, ":", caller.account_id,
                                      ":vpc-flow-log/*")
        role = aws.iam.Role(
            "flow-logs", name_prefix=name_prefix(f"{args.prefix}-flow-logs-", 64 - UNIQUE_SUFFIX),
            assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com", caller.account_id, source),
            opts=child)
        self.flow_log_policy_document = flow_log_policy(logs.arn)
        grant = aws.iam.RolePolicy("flow-logs", role=role.id, policy=self.flow_log_policy_document, opts=child)
        aws.ec2.FlowLog(
            "vpc", vpc_id=self.vpc_id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
            log_destination=logs.arn, iam_role_arn=role.arn,
            max_aggregation_interval=FLOW_LOG_INTERVAL_SECONDS, tags=self._tags("flow-logs"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[grant]))

    def _group(self, name: str, description: str) -> aws.ec2.SecurityGroup:
        # No inline rules: the provider then removes AWS's default allow-all egress, and each rule
        # below is its own resource.
        # A prefix, not a name: a changed description replaces the group, and the new one is
        # created while the old one still holds its name in the VPC.
        return aws.ec2.SecurityGroup(name, name_prefix=name_prefix(f"{self._prefix}-{name}-", 255 - UNIQUE_SUFFIX),
                                     description=description,
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


def flow_log_policy(log_group_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """Write to exactly the flow-log group (the documented `:*` form covers its streams)."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Write", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
         "Resource": pulumi.Output.concat(log_group_arn, ":*")},
        # DescribeLogGroups takes no resource; the service checks its destination exists.
        {"Sid": "Find", "Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
    ]})
