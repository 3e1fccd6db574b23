"""The aws target's recorded resources as the AWS API requests they become, checked against models
of the API that berth did not write: botocore's service models (plus the enums, ranges and
patterns its validator skips, see botomodel.py) and, for every IAM policy, parliament.

`check(run)` returns one line per problem, "<type> '<name>': <reason>"; an empty list means every
request would be accepted as far as these models know. Ranges AWS documents in prose only are
checked here by hand, each with the document's words.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Iterator

import parliament

from infra.checks.botomodel import problems as model_problems, to_api, whole
from infra.mocks import Record, Run, unwrap

# What the provider appends to a name prefix, and Pulumi to an auto-name: stand-ins of the real
# length, so the request carries a name as long as the one AWS will see.
PREFIX_SUFFIX = "2026" + "0" * 21 + "1"  # 26 characters (terraform's unique id)
AUTONAME_SUFFIX = "-0a1b2c3"  # Pulumi: a hyphen and 7 hex characters
PLACEHOLDER_ARN = "arn:aws:service:us-east-1:123456789012:resource/placeholder"  # an id a request needs; not checked here

Request = tuple[str, str, dict[str, Any]]  # botocore service, operation, parameters
Builder = Callable[[Record, dict[str, Any]], Iterable[Request]]


def _dims(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"Name": k, "Value": v} for k, v in d.items()]


def _pick(inputs: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: inputs[k] for k in keys if k in inputs}


def _name(inputs: dict[str, Any], record: Record, key: str = "name") -> str:
    """The physical name AWS will see: given, completed from a prefix, or auto-named."""
    if key in inputs:
        return inputs[key]
    if "namePrefix" in inputs:
        return inputs["namePrefix"] + PREFIX_SUFFIX
    return record.name + AUTONAME_SUFFIX


# ---------------------------------------------------------------------------------------------
# One builder per resource type: the requests the provider makes to create it.

def task_definition(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    # RegisterTaskDefinition takes camelCase, like Pulumi's inputs.
    yield "ecs", "RegisterTaskDefinition", to_api({
        **_pick(i, "family", "taskRoleArn", "executionRoleArn", "networkMode", "requiresCompatibilities",
                "cpu", "memory", "volumes", "runtimePlatform"),
        "containerDefinitions": json.loads(i["containerDefinitions"]),
    }, pascal=False)


def ecs_service(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    net = i["networkConfiguration"]
    request = {
        **_pick(i, "cluster", "taskDefinition", "desiredCount", "launchType", "platformVersion",
                "healthCheckGracePeriodSeconds", "deploymentController", "propagateTags", "enableExecuteCommand"),
        "serviceName": i["name"], "enableECSManagedTags": i.get("enableEcsManagedTags"),
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": net["subnets"], "securityGroups": net["securityGroups"],
            "assignPublicIp": "ENABLED" if net.get("assignPublicIp") else "DISABLED"}},
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": i["deploymentCircuitBreaker"],
            "maximumPercent": i["deploymentMaximumPercent"], "minimumHealthyPercent": i["deploymentMinimumHealthyPercent"]},
    }
    if i.get("loadBalancers"):
        request["loadBalancers"] = i["loadBalancers"]
    yield "ecs", "CreateService", to_api({k: v for k, v in request.items() if v is not None}, pascal=False)


def target_group(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    hc = i["healthCheck"]
    yield "elbv2", "CreateTargetGroup", to_api({
        "Name": _name(i, rec), "Protocol": i["protocol"], "Port": i["port"], "VpcId": i["vpcId"],
        "TargetType": i["targetType"], "HealthCheckEnabled": hc["enabled"], "HealthCheckPath": hc["path"],
        "HealthCheckProtocol": hc["protocol"], "HealthCheckPort": hc["port"],
        "HealthCheckIntervalSeconds": hc["interval"], "HealthCheckTimeoutSeconds": hc["timeout"],
        "HealthyThresholdCount": hc["healthyThreshold"], "UnhealthyThresholdCount": hc["unhealthyThreshold"],
        "Matcher": {"HttpCode": hc["matcher"]},
    })


def load_balancer(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    yield "elbv2", "CreateLoadBalancer", to_api({
        "Name": _name(i, rec), "Subnets": i["subnets"], "SecurityGroups": i["securityGroups"],
        "Scheme": "internal" if i.get("internal") else "internet-facing", "Type": i["loadBalancerType"]})
    attributes = {
        "idle_timeout.timeout_seconds": i.get("idleTimeout"),
        "deletion_protection.enabled": i.get("enableDeletionProtection"),
        "routing.http.drop_invalid_header_fields.enabled": i.get("dropInvalidHeaderFields"),
    }
    logs = i.get("accessLogs")
    if logs:
        attributes.update({"access_logs.s3.enabled": logs["enabled"], "access_logs.s3.bucket": logs["bucket"],
                           "access_logs.s3.prefix": logs.get("prefix")})
    yield "elbv2", "ModifyLoadBalancerAttributes", {
        "LoadBalancerArn": PLACEHOLDER_ARN,
        "Attributes": [{"Key": k, "Value": str(whole(v)).lower() if isinstance(v, bool) else str(whole(v))}
                       for k, v in attributes.items() if v is not None]}


def scalable_target(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    yield "application-autoscaling", "RegisterScalableTarget", to_api(
        _pick(i, "serviceNamespace", "resourceId", "scalableDimension", "minCapacity", "maxCapacity"))


def scaling_policy(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    yield "application-autoscaling", "PutScalingPolicy", to_api({
        "PolicyName": i["name"], "PolicyType": i["policyType"], "ServiceNamespace": i["serviceNamespace"],
        "ResourceId": i["resourceId"], "ScalableDimension": i["scalableDimension"],
        "TargetTrackingScalingPolicyConfiguration": i["targetTrackingScalingPolicyConfiguration"]})


ALARM_KEYS = ("comparisonOperator", "threshold", "evaluationPeriods", "datapointsToAlarm", "treatMissingData",
              "alarmActions", "alarmDescription", "namespace", "metricName", "period", "statistic",
              "extendedStatistic")


def alarm(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    # PutMetricAlarm: Pulumi's dimensions are a map; the API's a list of Name/Value.
    request = {k[:1].upper() + k[1:]: v for k, v in i.items() if k in ALARM_KEYS}
    request.update({"AlarmName": i["name"], "OKActions": i["okActions"]})
    if "dimensions" in i:
        request["Dimensions"] = _dims(i["dimensions"])
    if "metricQueries" in i:
        request["Metrics"] = []
        for q in i["metricQueries"]:
            m = {"Id": q["id"], "ReturnData": q["returnData"]}
            if "expression" in q:
                m.update({"Expression": q["expression"], "Label": q["label"]})
            else:
                metric = q["metric"]
                m["MetricStat"] = {"Metric": {"Namespace": metric["namespace"], "MetricName": metric["metricName"],
                                              "Dimensions": _dims(metric["dimensions"])},
                                   "Period": metric["period"], "Stat": metric["stat"]}
            request["Metrics"].append(m)
    yield "cloudwatch", "PutMetricAlarm", whole(request)


WAF_RENAMES = {"cloudwatchMetricsEnabled": "CloudWatchMetricsEnabled"}


def web_acl(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    yield "wafv2", "CreateWebACL", to_api(_pick(i, "name", "scope", "defaultAction", "rules", "visibilityConfig"),
                                          WAF_RENAMES)


def waf_logging(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    yield "wafv2", "PutLoggingConfiguration", {"LoggingConfiguration": to_api({
        "resourceArn": i["resourceArn"], "logDestinationConfigs": i["logDestinationConfigs"],
        **({"redactedFields": i["redactedFields"]} if "redactedFields" in i else {})})}


RDS_RENAMES = {
    "identifier": "DBInstanceIdentifier", "instanceClass": "DBInstanceClass", "dbName": "DBName",
    "multiAz": "MultiAZ", "username": "MasterUsername", "password": "MasterUserPassword",
    "dbSubnetGroupName": "DBSubnetGroupName", "parameterGroupName": "DBParameterGroupName",
    "performanceInsightsEnabled": "EnablePerformanceInsights",
    "enabledCloudwatchLogsExports": "EnableCloudwatchLogsExports",
}
# Instance settings that are not CreateDBInstance's: they go to ModifyDBInstance or DeleteDBInstance.
RDS_MODIFY = ("applyImmediately", "allowMajorVersionUpgrade")
RDS_DELETE = ("skipFinalSnapshot", "finalSnapshotIdentifier")


def rds_instance(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    i = unwrap(i)
    create = {k: v for k, v in i.items() if k not in RDS_MODIFY + RDS_DELETE}
    yield "rds", "CreateDBInstance", to_api(create, RDS_RENAMES)
    yield "rds", "ModifyDBInstance", to_api({"identifier": i["identifier"], **_pick(i, *RDS_MODIFY)}, RDS_RENAMES)
    yield "rds", "DeleteDBInstance", to_api({"identifier": i["identifier"], **_pick(i, *RDS_DELETE)}, {
        **RDS_RENAMES, "finalSnapshotIdentifier": "FinalDBSnapshotIdentifier"})


def replication_group(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    i = {k: v for k, v in unwrap(i).items() if k != "applyImmediately"}
    yield "elasticache", "CreateReplicationGroup", to_api(i, {
        "description": "ReplicationGroupDescription", "subnetGroupName": "CacheSubnetGroupName",
        "nodeType": "CacheNodeType", "multiAzEnabled": "MultiAZEnabled"})


def flow_log(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    yield "ec2", "CreateFlowLogs", to_api({
        "ResourceIds": [i["vpcId"]], "ResourceType": "VPC", "TrafficType": i["trafficType"],
        "LogDestinationType": i["logDestinationType"], "LogDestination": i["logDestination"],
        "DeliverLogsPermissionArn": i["iamRoleArn"], "MaxAggregationInterval": i["maxAggregationInterval"]})


def vpc_endpoint(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    yield "ec2", "CreateVpcEndpoint", to_api({
        "VpcId": i["vpcId"], "ServiceName": i["serviceName"], "VpcEndpointType": i["vpcEndpointType"],
        "RouteTableIds": i.get("routeTableIds") or []})


def kms_key(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    yield "kms", "CreateKey", to_api(_pick(i, "description", "policy"))
    if i.get("enableKeyRotation"):
        yield "kms", "EnableKeyRotation", {"KeyId": PLACEHOLDER_ARN}
    yield "kms", "ScheduleKeyDeletion", to_api({"KeyId": PLACEHOLDER_ARN, "PendingWindowInDays": i["deletionWindowInDays"]})


def sns_topic(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    attributes = {"KmsMasterKeyId": i["kmsMasterKeyId"]} if "kmsMasterKeyId" in i else {}
    yield "sns", "CreateTopic", {"Name": _name(i, rec), "Attributes": attributes}


def log_group(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    yield "logs", "CreateLogGroup", {"logGroupName": i["name"]}
    if "retentionInDays" in i:
        yield "logs", "PutRetentionPolicy", whole({"logGroupName": i["name"], "retentionInDays": i["retentionInDays"]})


def iam_role(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    yield "iam", "CreateRole", {"RoleName": _name(i, rec), "AssumeRolePolicyDocument": i["assumeRolePolicy"]}


def role_policy(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    yield "iam", "PutRolePolicy", {"RoleName": "role" + PREFIX_SUFFIX, "PolicyName": _name(i, rec),
                                   "PolicyDocument": i["policy"]}


def bucket_policy(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    yield "s3", "PutBucketPolicy", {"Bucket": i["bucket"], "Policy": i["policy"]}


def security_group(rec: Record, i: dict[str, Any]) -> Iterator[Request]:
    yield "ec2", "CreateSecurityGroup", {"GroupName": _name(i, rec), "Description": i["description"],
                                         "VpcId": i["vpcId"]}


REQUESTS: dict[str, Builder] = {
    "aws:ecs/taskDefinition:TaskDefinition": task_definition,
    "aws:ecs/service:Service": ecs_service,
    "aws:lb/targetGroup:TargetGroup": target_group,
    "aws:lb/loadBalancer:LoadBalancer": load_balancer,
    "aws:appautoscaling/target:Target": scalable_target,
    "aws:appautoscaling/policy:Policy": scaling_policy,
    "aws:cloudwatch/metricAlarm:MetricAlarm": alarm,
    "aws:wafv2/webAcl:WebAcl": web_acl,
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": waf_logging,
    "aws:rds/instance:Instance": rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": replication_group,
    "aws:ec2/flowLog:FlowLog": flow_log,
    "aws:ec2/vpcEndpoint:VpcEndpoint": vpc_endpoint,
    "aws:kms/key:Key": kms_key,
    "aws:sns/topic:Topic": sns_topic,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:iam/role:Role": iam_role,
    "aws:iam/rolePolicy:RolePolicy": role_policy,
    "aws:s3/bucketPolicy:BucketPolicy": bucket_policy,
    "aws:ec2/securityGroup:SecurityGroup": security_group,
}


# ---------------------------------------------------------------------------------------------
# What the API references state in prose only.

def prose_problems(operation: str, request: dict[str, Any]) -> Iterator[str]:
    if operation == "RegisterTaskDefinition":
        for c in request["containerDefinitions"]:
            hc = c.get("healthCheck")
            if hc and not (5 <= hc["interval"] <= 300 and 2 <= hc["timeout"] <= 60
                           and 1 <= hc["retries"] <= 10 and 0 <= hc["startPeriod"] <= 300):
                yield f"container {c['name']}: health check outside interval 5–300, timeout 2–60, retries 1–10, startPeriod 0–300"
    elif operation == "CreateTargetGroup":
        if request["HealthCheckTimeoutSeconds"] >= request["HealthCheckIntervalSeconds"]:
            yield "health check timeout must be less than its interval"
    elif operation == "ModifyLoadBalancerAttributes":
        for a in request["Attributes"]:
            if a["Key"] == "idle_timeout.timeout_seconds" and not 1 <= int(a["Value"]) <= 4000:
                yield f"idle_timeout.timeout_seconds {a['Value']}: the range is 1-4000 seconds"
    elif operation == "PutMetricAlarm":
        if request["DatapointsToAlarm"] > request["EvaluationPeriods"]:
            yield "DatapointsToAlarm above EvaluationPeriods"
        if request.get("Period", 60) % 60:
            yield f"Period {request['Period']}: a multiple of 60 for regular metrics"
    elif operation == "CreateWebACL":
        for rule in request["Rules"]:
            rate = rule["Statement"].get("RateBasedStatement")
            if rate and rate.get("EvaluationWindowSec", 300) not in (60, 120, 300, 600):
                yield f"rule {rule['Name']}: EvaluationWindowSec one of 60, 120, 300, 600"
    elif operation == "PutLoggingConfiguration":
        for arn in request["LoggingConfiguration"]["LogDestinationConfigs"]:
            name = arn.split(":log-group:")[-1] if ":log-group:" in arn else arn.rsplit(":", 1)[-1].split("/")[-1]
            if not name.startswith("aws-waf-logs-"):
                yield f"log destination {arn}: its name must start with aws-waf-logs-"
            if arn.endswith(":*"):
                yield f"log destination {arn}: a log group ARN without the trailing :*"
        for field in request["LoggingConfiguration"].get("RedactedFields") or []:
            header = (field.get("SingleHeader") or {}).get("Name")
            if header is not None and header != header.lower():
                yield f"redacted header {header!r}: names must be given in lower case"
    elif operation == "ScheduleKeyDeletion":
        if not 7 <= request["PendingWindowInDays"] <= 30:
            yield f"PendingWindowInDays {request['PendingWindowInDays']}: a waiting period of 7 to 30 days"
    elif operation == "CreateFlowLogs":
        if request.get("MaxAggregationInterval") not in (None, 60, 600):
            yield "MaxAggregationInterval is 60 or 600 seconds"
    elif operation == "PutRetentionPolicy":
        if request["retentionInDays"] not in LOG_RETENTION_DAYS:
            yield f"retentionInDays {request['retentionInDays']}: one of {LOG_RETENTION_DAYS}"


LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)


# ---------------------------------------------------------------------------------------------
# IAM: permission and resource policies through parliament.

def policy_documents(run: Run) -> Iterator[tuple[Record, str, str]]:
    """(record, kind, document) for every permission or resource policy in the run. A key policy's
    "*" means the key it is attached to: parliament, which reads identity policies, gets a key ARN."""
    for rec in run.by_type("aws:iam/rolePolicy:RolePolicy"):
        yield rec, "identity", rec.inputs["policy"]
    for rec in run.by_type("aws:s3/bucketPolicy:BucketPolicy"):
        yield rec, "bucket", rec.inputs["policy"]
    for rec in run.by_type("aws:kms/key:Key"):
        if "policy" in rec.inputs:
            doc = json.loads(rec.inputs["policy"])
            for statement in doc["Statement"]:
                if statement.get("Resource") == "*":
                    statement["Resource"] = "arn:aws:kms:*:*:key/*"
            yield rec, "key", json.dumps(doc)


def parliament_problems(run: Run) -> Iterator[str]:
    for rec, kind, doc in policy_documents(run):
        for finding in parliament.analyze_policy_string(doc).findings:
            yield f"{rec.type} '{rec.name}': {kind} policy: parliament {finding.issue} {finding.detail}"


def requests(run: Run) -> Iterator[tuple[Record, Request]]:
    for rec in run.records:
        build = REQUESTS.get(rec.type) if rec.custom else None
        if build is not None:
            for request in build(rec, rec.inputs):
                yield rec, request


def check(run: Run) -> list[str]:
    out: list[str] = []
    for rec in run.records:
        build = REQUESTS.get(rec.type) if rec.custom else None
        if build is None:
            continue
        try:
            built = list(build(rec, rec.inputs))
        except KeyError as missing:  # an input every such request needs
            out.append(f"{rec.type} '{rec.name}': input {missing} is missing")
            continue
        for service, operation, params in built:
            for problem in [*model_problems(service, operation, params), *prose_problems(operation, params)]:
                out.append(f"{rec.type} '{rec.name}': {operation}: {problem}")
    out.extend(parliament_problems(run))
    return out
