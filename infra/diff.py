"""`python -m infra plan --stack NAME --diff OLD.json`: what changed against an earlier plan's JSON,
as `pulumi preview --diff` shows it: create, update (with the changed input paths), replace (when a
changed input is one the provider cannot change in place), delete.

No provider runs here, so which inputs force a replacement is an explicit table per type, for the
inputs berth sets. Its sources, since the bridged providers' schemas (pulumi-aws's and pulumi-gcp's
do not ship in their wheels) carry no replace-on-change marks:
- aws: the `ForceNew` attributes of terraform-provider-aws (the provider pulumi-aws 7 bridges). Not
  in it: RDS `engineVersion` (a major upgrade is an in-place ModifyDBInstance, which needs
  `allowMajorVersionUpgrade`) and RDS `identifier` (renamed in place). An engine major still
  replaces the parameter group, whose `family` and `name` are ForceNew.
- gcp: the `ForceNew` attributes of terraform-provider-google (bridged by pulumi-gcp).
- kubernetes: pulumi-kubernetes's own table (provider/pkg/provider/diff.go, `forceNew`): every
  kind's metadata.name/namespace, immutable selectors and the fields the API server refuses to update.
- docker: pulumi-docker (kreuzwerker/docker): a container is recreated on any change but the few
  it can update live.
Secret inputs are masked in both plans, so a changed secret value does not show (pulumi preview
would show `[secret]` changed).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

# Type → input paths whose change forces a replacement. "*" = every input but those in ALL_BUT.
REPLACE_ON_CHANGE: dict[str, tuple[str, ...]] = {
    # aws (terraform-provider-aws ForceNew)
    "aws:rds/instance:Instance": ("engine", "dbName", "username", "storageEncrypted", "kmsKeyId",
                                  "availabilityZone", "characterSetName", "timezone", "snapshotIdentifier"),
    "aws:rds/parameterGroup:ParameterGroup": ("name", "namePrefix", "family", "description"),
    "aws:rds/subnetGroup:SubnetGroup": ("name", "namePrefix"),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("replicationGroupId", "port", "subnetGroupName",
                                                          "atRestEncryptionEnabled", "kmsKeyId", "networkType",
                                                          "dataTieringEnabled", "snapshotName"),
    "aws:elasticache/subnetGroup:SubnetGroup": ("name",),
    "aws:ecs/taskDefinition:TaskDefinition": ("*",),  # task definitions are immutable revisions
    "aws:ecs/service:Service": ("name", "cluster"),
    "aws:ecs/cluster:Cluster": ("name",),
    "aws:lb/loadBalancer:LoadBalancer": ("name", "namePrefix", "internal", "loadBalancerType"),
    "aws:lb/targetGroup:TargetGroup": ("name", "namePrefix", "port", "protocol", "targetType", "vpcId"),
    "aws:lb/listener:Listener": ("loadBalancerArn",),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", "description", "vpcId"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("securityGroupId",),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("securityGroupId",),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("vpcId", "cidrBlock", "availabilityZone"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix"),
    "aws:secretsmanager/secret:Secret": ("name", "namePrefix"),
    "aws:iam/role:Role": ("name", "namePrefix"),
    "aws:iam/rolePolicy:RolePolicy": ("name", "role"),
    "aws:ecr/repository:Repository": ("name",),
    "aws:sns/topic:Topic": ("name", "namePrefix"),
    "aws:sns/topicSubscription:TopicSubscription": ("topic", "protocol", "endpoint"),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix"),
    "aws:wafv2/webAcl:WebAcl": ("name", "scope"),
    "aws:appautoscaling/target:Target": ("resourceId", "scalableDimension", "serviceNamespace"),
    "aws:appautoscaling/policy:Policy": ("name", "resourceId", "scalableDimension", "serviceNamespace"),
    "aws:acm/certificate:Certificate": ("domainName", "validationMethod"),
    "aws:route53/record:Record": ("zoneId", "name", "type"),
    # gcp (terraform-provider-google ForceNew)
    "gcp:sql/databaseInstance:DatabaseInstance": ("name", "region", "project", "masterInstanceName"),
    "gcp:redis/instance:Instance": ("name", "region", "tier", "authorizedNetwork", "connectMode",
                                    "transitEncryptionMode", "reservedIpRange", "locationId"),
    "gcp:cloudrunv2/service:Service": ("name", "location", "project"),
    "gcp:cloudrunv2/workerPool:WorkerPool": ("name", "location", "project"),
    "gcp:cloudrunv2/job:Job": ("name", "location", "project"),
    "gcp:compute/firewall:Firewall": ("name", "network", "direction", "project"),
    "gcp:compute/backendService:BackendService": ("name", "loadBalancingScheme", "project"),
    "gcp:compute/securityPolicy:SecurityPolicy": ("name", "project"),
    "gcp:compute/uRLMap:URLMap": ("name", "project"),
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": ("name", "project"),
    "gcp:compute/targetHttpProxy:TargetHttpProxy": ("name", "project"),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": ("name", "ipAddress", "portRange", "ipProtocol",
                                                              "loadBalancingScheme", "project"),
    "gcp:secretmanager/secret:Secret": ("secretId", "replication", "project"),
    "gcp:artifactregistry/repository:Repository": ("repositoryId", "location", "format", "mode", "project"),
    "gcp:monitoring/notificationChannel:NotificationChannel": ("type",),
    # kubernetes (pulumi-kubernetes forceNew; metadata.name/namespace apply to every kind, below)
    "kubernetes:apps/v1:Deployment": ("spec.selector",),
    "kubernetes:apps/v1:StatefulSet": ("spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.selector",
                                       "spec.serviceName", "spec.volumeClaimTemplates"),
    "kubernetes:batch/v1:Job": ("spec.selector", "spec.template"),
    "kubernetes:core/v1:Service": ("spec.clusterIP", "spec.type"),
    "kubernetes:core/v1:Secret": ("type", "stringData", "data"),
    "kubernetes:core/v1:ConfigMap": ("binaryData", "data"),
    "kubernetes:core/v1:PersistentVolumeClaim": ("spec",),
    # docker (kreuzwerker/docker)
    "docker:index/container:Container": ("*",),
    "docker:index/network:Network": ("name", "driver", "ipamConfigs", "internal"),
    "docker:index/volume:Volume": ("name", "driver"),
    "docker:index/remoteImage:RemoteImage": ("name",),
}
# Inputs a provider changes in place even where every other input replaces.
ALL_BUT = {
    "aws:ecs/taskDefinition:TaskDefinition": ("tags", "tagsAll", "skipDestroy", "trackLatest"),
    "docker:index/container:Container": ("restart", "memory", "memorySwap", "cpuShares", "cpuSet", "maxRetryCount",
                                         "wait", "waitTimeout", "mustRun", "start", "attach", "logs",
                                         "destroyGraceSeconds"),
}
KUBERNETES_METADATA = ("metadata.name", "metadata.namespace")


@dataclass
class Change:
    op: str  # create | update | replace | delete
    urn: str
    type: str
    name: str
    paths: list[str] = field(default_factory=list)  # changed input paths
    replacing: list[str] = field(default_factory=list)  # the ones that force the replacement
    old: dict[str, Any] = field(default_factory=dict)
    new: dict[str, Any] = field(default_factory=dict)
    protected: bool = False

    @property
    def refused(self) -> bool:
        """The engine refuses to delete a protected resource, replacement included."""
        return self.protected and self.op in ("replace", "delete")


def _json_text(value: Any) -> Any:
    """JSON held in a string input (ECS container definitions, IAM policies): diffed as structure."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def changed_paths(old: Any, new: Any, path: str = "") -> Iterator[str]:
    old, new = _json_text(old), _json_text(new)
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            yield from changed_paths(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            yield from changed_paths(a, b, f"{path}[{i}]")
    elif old != new:
        yield path


def value_at(data: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        data = _json_text(data)
        if part.startswith("["):
            index = int(part[1:-1])
            data = data[index] if isinstance(data, list) and index < len(data) else None
        else:
            data = data.get(part) if isinstance(data, dict) else None
    return data


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")


def forcing(type_: str, paths: list[str]) -> list[str]:
    rules = REPLACE_ON_CHANGE.get(type_, ())
    if type_.startswith("kubernetes:"):
        rules = rules + KUBERNETES_METADATA
    if "*" in rules:
        keep = ALL_BUT.get(type_, ())
        return [p for p in paths if not any(_under(p, k) for k in keep)]
    return [p for p in paths if any(_under(p, r) for r in rules)]


def diff(old_plan: dict[str, Any], new_plan: dict[str, Any]) -> list[Change]:
    old = {r["urn"]: r for r in old_plan.get("resources", [])}
    new = {r["urn"]: r for r in new_plan.get("resources", [])}
    changes: list[Change] = []
    for urn in sorted(set(old) | set(new)):
        before, after = old.get(urn), new.get(urn)
        if before is None:
            changes.append(Change("create", urn, after["type"], after["name"], new=after.get("inputs", {})))
            continue
        if after is None:
            changes.append(Change("delete", urn, before["type"], before["name"], old=before.get("inputs", {}),
                                  protected=bool((before.get("options") or {}).get("protect"))))
            continue
        ignored = (after.get("options") or {}).get("ignore_changes") or []
        paths = [p for p in changed_paths(before.get("inputs", {}), after.get("inputs", {}))
                 if not any(_under(p, i) for i in ignored)]
        if not paths:
            continue
        replacing = forcing(after["type"], paths)
        changes.append(Change("replace" if replacing else "update", urn, after["type"], after["name"], paths, replacing,
                              before.get("inputs", {}), after.get("inputs", {}),
                              protected=bool((before.get("options") or {}).get("protect"))))
    return changes


SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def render(changes: list[Change], unchanged: int, old_name: str) -> str:
    lines = [f"Diff against {old_name} (as `pulumi preview --diff` shows it):"]
    for c in changes:
        note = "  [refused: the resource is protected]" if c.refused else ""
        lines.append(f" {SYMBOL[c.op]:<3} {c.op:<8} {c.type}  {c.name}{note}")
        for path in c.paths:
            mark = "  (forces replacement)" if path in c.replacing else ""
            lines.append(f"         ~ {path}: {_show(value_at(c.old, path))} => {_show(value_at(c.new, path))}{mark}")
    counts = {op: sum(1 for c in changes if c.op == op) for op in SYMBOL}
    lines.append(f"Changes: {counts['create']} to create, {counts['update']} to update, {counts['replace']} to replace, "
                 f"{counts['delete']} to delete, {unchanged} unchanged")
    return "\n".join(lines)


def load(path: str) -> Optional[dict[str, Any]]:
    with open(path) as handle:
        data = json.load(handle)
    return data if isinstance(data, dict) and isinstance(data.get("resources"), list) else None
