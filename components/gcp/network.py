"""The VPC the services reach their data stores through: a subnet for Cloud Run's Direct VPC egress,
private services access (a peered range) for Cloud SQL and Memorystore, and Cloud NAT for whatever
in the network goes out to the internet. Or an existing network and subnet by name.

Nothing in it has a public address; no firewall rule opens anything from outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_gcp as gcp

from components.gcp import names


@dataclass
class NetworkArgs:
    prefix: str
    project: str
    region: str
    subnet_cidr: str
    private_services_prefix_length: int
    network: Optional[str]  # an existing network's name
    subnetwork: Optional[str]
    private_services: bool  # Cloud SQL or Memorystore is on: peer Google's service producers in


class Network(pulumi.ComponentResource):
    network_id: pulumi.Output[str]  # projects/<project>/global/networks/<name>
    network_name: pulumi.Output[str]
    subnetwork_name: pulumi.Output[str]
    peering: Optional[gcp.servicenetworking.Connection]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:gcp:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.peering = None
        if args.network is not None:
            self.network_name = pulumi.Output.from_input(args.network)
            self.subnetwork_name = pulumi.Output.from_input(args.subnetwork)
            self.network_id = pulumi.Output.from_input(f"projects/{args.project}/global/networks/{args.network}")
        else:
            vpc = gcp.compute.Network(
                "vpc", name=args.prefix, auto_create_subnetworks=False, routing_mode="REGIONAL",
                description=f"berth {args.prefix}: Cloud Run egress, Cloud SQL, Memorystore", opts=child)
            subnet = gcp.compute.Subnetwork(
                "run", name=names.compute(args.prefix, "run"), network=vpc.id, region=args.region,
                ip_cidr_range=args.subnet_cidr, private_ip_google_access=True,
                log_config={"aggregation_interval": "INTERVAL_5_SEC", "flow_sampling": 0.5,
                            "metadata": "INCLUDE_ALL_METADATA"},
                opts=child)
            router = gcp.compute.Router("router", name=names.compute(args.prefix, "router"), network=vpc.id,
                                        region=args.region, opts=child)
            gcp.compute.RouterNat(
                "nat", name=names.compute(args.prefix, "nat"), router=router.name, region=args.region,
                nat_ip_allocate_option="AUTO_ONLY", source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
                log_config={"enable": True, "filter": "ERRORS_ONLY"}, opts=child)
            self.network_id = vpc.id
            self.network_name = vpc.name
            self.subnetwork_name = subnet.name
        if args.private_services:
            # Cloud SQL's private IP and Memorystore's PRIVATE_SERVICE_ACCESS mode live in this
            # peered range; nothing outside the VPC reaches them.
            reserved = gcp.compute.GlobalAddress(
                "private-services", name=names.compute(args.prefix, "private-services"), purpose="VPC_PEERING",
                address_type="INTERNAL", prefix_length=args.private_services_prefix_length,
                network=self.network_id, opts=child)
            self.peering = gcp.servicenetworking.Connection(
                "private-services", network=self.network_id, service="servicenetworking.googleapis.com",
                reserved_peering_ranges=[reserved.name], opts=child)
        self.register_outputs({"network": self.network_name})
