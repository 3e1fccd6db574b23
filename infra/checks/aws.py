"""The aws target's recorded resources, as the AWS API requests they become, checked against an
independent model of the API: botocore's service models (plus the enums, ranges and patterns its
own validator skips, and the ranges ECS documents only in prose), and every IAM policy with parliament.

`check(run)` is what `python -m infra plan --check` runs and what tests/test_aws_api.py asserts on.
Each problem is one string, "<type> '<name>': <reason>".
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Callable, Iterator, Mapping, Optional

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.validate import ParamValidator

from infra.mocks import Record, Run, unwrap


# ------------------------------------------------------------------------------------------------
# botocore: the request shapes, and what ParamValidator does not check

@functools.lru_cache(maxsize=None)
def _model(service: str):
    return botocore.session.get_session().get_service_model(service)


def input_shape(service: str, operation: str) -> StructureShape:
    return _model(service).operation_model(operation).input_shape


def shape_of(service: str, name: str) -> Shape:
    return _model(service).shape_for(name)


def whole(value: Any) -> Any:
    """The mock runtime carries every number as a float: give whole ones back as ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole(v) for v in value]
    return value


def to_api(value: Any, renames: Optional[Mapping[str, str]] = None, pascal: bool = True) -> Any:
    """camelCase keys → PascalCase (or left as they are for camelCase APIs such as ECS), with
    `renames` for the keys whose API name is not the Pulumi name capitalised."""
    renames = renames or {}
    if isinstance(value, dict):
        out = {}
        for key, v in value.items():
            new = renames.get(key) or ((key[:1].upper() + key[1:]) if pascal else key)
            out[new] = to_api(v, renames, pascal)
        return out
    if isinstance(value, list):
        return [to_api(v, renames, pascal) for v in value]
    return whole(value)


def _walk(value: Any, shape: Shape, path: str, out: list[str]) -> None:
    meta = shape.metadata
    if shape.type_name == "structure":
        if not isinstance(value, dict):
            return  # ParamValidator reports the type
        for name, member in shape.members.items():
            if name in value:
                _walk(value[name], member, f"{path}.{name}", out)
        return
    if isinstance(shape, ListShape):
        if isinstance(value, list):
            _range(len(value), meta, f"{path} (length)", out)
            for i, item in enumerate(value):
                _walk(item, shape.member, f"{path}[{i}]", out)
        return
    if isinstance(shape, MapShape):
        if isinstance(value, dict):
            _range(len(value), meta, f"{path} (entries)", out)
            for k, v in value.items():
                _walk(k, shape.key, f"{path}<key>", out)
                _walk(v, shape.value, f"{path}.{k}", out)
        return
    if shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            out.append(f"{path}: {value!r} is not one of {sorted(shape.enum)}")
        _range(len(value), meta, f"{path} (length)", out)
        pattern = _pattern(meta.get("pattern"))
        if pattern is not None and not pattern.fullmatch(value):
            out.append(f"{path}: {value!r} does not match {meta['pattern']}")
    elif shape.type_name in ("integer", "long", "double", "float") and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        _range(value, meta, path, out)


@functools.lru_cache(maxsize=None)
def _pattern(text: Optional[str]) -> Optional[re.Pattern]:
    """The model's patterns are Java regexes; the few Python cannot read are skipped."""
    if not text:
        return None
    try:
        return re.compile(text, re.DOTALL)
    except re.error:
        return None


def _range(found: float, meta: dict, path: str, out: list[str]) -> None:
    if "min" in meta and found < meta["min"]:
        out.append(f"{path}: {found} is below the minimum {meta['min']}")
    if "max" in meta and found > meta["max"]:
        out.append(f"{path}: {found} is above the maximum {meta['max']}")


def problems(service: str, operation: str, params: dict[str, Any], shape: Optional[Shape] = None) -> list[str]:
    """Everything the API would reject in `params` (an empty list when it would accept them)."""
    shape = shape or input_shape(service, operation)
    report = ParamValidator().validate(params, shape)
    out = [report.generate_report()] if report.has_errors() else []
    _walk(params, shape, operation, out)
    return out


def _between(value: Any, low: float, high: float, what: str) -> list[str]:
    return [] if value is None or low <= value <= high else [f"{what}: {value} is not in {low:g}–{high:g}"]


# ------------------------------------------------------------------------------------------------
# Pulumi inputs → API requests, one function per resource type

def task_definition(rec: Record) -> list[str]:
    i = rec.inputs
    request = to_api({
        "family": i["family"], "taskRoleArn": i.get("taskRoleArn"), "executionRoleArn": i.get("executionRoleArn"),
        "networkMode": i.get("networkMode"), "requiresCompatibilities": i.get("requiresCompatibilities"),
        "cpu": i.get("cpu"), "memory": i.get("memory"), "volumes": i.get("volumes"),
        "runtimePlatform": i.get("runtimePlatform"),
        "containerDefinitions": json.loads(i["containerDefinitions"]),
    }, pascal=False)
    request = {k: v for k, v in request.items() if v is not None}
    out = problems("ecs", "RegisterTaskDefinition", request)
    # ECS documents the health check's ranges in prose only.
    for c in request["containerDefinitions"]:
        hc = c.get("healthCheck") or {}
        name = f"container {c.get('name')} healthCheck"
        out += _between(hc.get("interval"), 5, 300, f"{name}.interval")
        out += _between(hc.get("timeout"), 2, 60, f"{name}.timeout")
        out += _between(hc.get("retries"), 1, 10, f"{name}.retries")
        out += _between(hc.get("startPeriod"), 0, 300, f"{name}.startPeriod")
    return out


def target_group(rec: Record) -> list[str]:
    i, hc = rec.inputs, rec.inputs.get("healthCheck") or {}
    request = to_api({
        # Autonamed by the provider: a name of the longest form it generates.
        "Name": i.get("name") or f"{rec.name}-0123456", "Protocol": i.get("protocol"), "Port": i.get("port"),
        "VpcId": i.get("vpcId"), "TargetType": i.get("targetType"), "HealthCheckEnabled": hc.get("enabled"),
        "HealthCheckPath": hc.get("path"), "HealthCheckProtocol": hc.get("protocol"), "HealthCheckPort": hc.get("port"),
        "HealthCheckIntervalSeconds": hc.get("interval"), "HealthCheckTimeoutSeconds": hc.get("timeout"),
        "HealthyThresholdCount": hc.get("healthyThreshold"), "UnhealthyThresholdCount": hc.get("unhealthyThreshold"),
        "Matcher": {"HttpCode": hc["matcher"]} if hc.get("matcher") else None,
    })
    request = {k: v for k, v in request.items() if v is not None}
    out = problems("elbv2", "CreateTargetGroup", request)
    interval, timeout = request.get("HealthCheckIntervalSeconds"), request.get("HealthCheckTimeoutSeconds")
    if interval is not None and timeout is not None and timeout >= interval:
        out.append(f"health check timeout {timeout} s is not shorter than its interval {interval} s")
    # The deregistration_delay.timeout_seconds attribute.
    out += _between(whole(i.get("deregistrationDelay")) if i.get("deregistrationDelay") is not None else None,
                    0, 3600, "deregistrationDelay")
    return out


def scalable_target(rec: Record) -> list[str]:
    i = rec.inputs
    return problems("application-autoscaling", "RegisterScalableTarget", to_api(
        {k: i[k] for k in ("serviceNamespace", "resourceId", "scalableDimension", "minCapacity", "maxCapacity")}))


def scaling_policy(rec: Record) -> list[str]:
    i = rec.inputs
    request = {"PolicyName": i["name"], "PolicyType": i["policyType"], "ServiceNamespace": i["serviceNamespace"],
               "ResourceId": i["resourceId"], "ScalableDimension": i["scalableDimension"],
               "TargetTrackingScalingPolicyConfiguration": i.get("targetTrackingScalingPolicyConfiguration")}
    return problems("application-autoscaling", "PutScalingPolicy",
                    to_api({k: v for k, v in request.items() if v is not None}))


def alarm_request(i: dict) -> dict:
    """PutMetricAlarm: Pulumi's dimensions are a map, the API's a list of Name/Value."""
    def dims(d: dict) -> list:
        return [{"Name": k, "Value": v} for k, v in d.items()]
    request = {k[:1].upper() + k[1:]: v for k, v in i.items()
               if k in ("comparisonOperator", "threshold", "evaluationPeriods", "datapointsToAlarm",
                        "treatMissingData", "alarmActions", "alarmDescription", "namespace", "metricName",
                        "period", "statistic", "extendedStatistic")}
    request["AlarmName"] = i["name"]
    if "okActions" in i:
        request["OKActions"] = i["okActions"]
    if "dimensions" in i:
        request["Dimensions"] = dims(i["dimensions"])
    if "metricQueries" in i:
        request["Metrics"] = []
        for q in i["metricQueries"]:
            m = {"Id": q["id"], "ReturnData": q["returnData"]}
            if "expression" in q:
                m["Expression"], m["Label"] = q["expression"], q["label"]
            else:
                metric = q["metric"]
                m["MetricStat"] = {"Metric": {"Namespace": metric["namespace"], "MetricName": metric["metricName"],
                                              "Dimensions": dims(metric["dimensions"])},
                                   "Period": metric["period"], "Stat": metric["stat"]}
            request["Metrics"].append(m)
    return whole(request)


def metric_alarm(rec: Record) -> list[str]:
    request = alarm_request(rec.inputs)
    out = problems("cloudwatch", "PutMetricAlarm", request)
    if request.get("DatapointsToAlarm", 0) > request.get("EvaluationPeriods", 0):
        out.append("DatapointsToAlarm is more than EvaluationPeriods")
    if request.get("Period", 60) % 60:
        out.append(f"Period {request['Period']} is not a multiple of 60")
    return out


WAF_RENAMES = {"cloudwatchMetricsEnabled": "CloudWatchMetricsEnabled"}
WAF_WINDOWS = (60, 120, 300, 600)


def web_acl(rec: Record) -> list[str]:
    i = rec.inputs
    request = to_api({k: i[k] for k in ("name", "scope", "defaultAction", "rules", "visibilityConfig") if k in i},
                     WAF_RENAMES)
    out = problems("wafv2", "CreateWebACL", request)
    for rule in request.get("Rules", []):
        window = (rule.get("Statement", {}).get("RateBasedStatement") or {}).get("EvaluationWindowSec")
        if window is not None and window not in WAF_WINDOWS:
            out.append(f"rule {rule.get('Name')}: EvaluationWindowSec {window} is not one of {WAF_WINDOWS}")
    return out


RDS_RENAMES = {
    "identifier": "DBInstanceIdentifier", "instanceClass": "DBInstanceClass", "dbName": "DBName",
    "multiAz": "MultiAZ", "username": "MasterUsername", "password": "MasterUserPassword",
    "dbSubnetGroupName": "DBSubnetGroupName", "parameterGroupName": "DBParameterGroupName",
    "performanceInsightsEnabled": "EnablePerformanceInsights",
    "enabledCloudwatchLogsExports": "EnableCloudwatchLogsExports",
}
RDS_NOT_IN_CREATE = ("applyImmediately", "skipFinalSnapshot", "finalSnapshotIdentifier")
ELASTICACHE_RENAMES = {"description": "ReplicationGroupDescription", "subnetGroupName": "CacheSubnetGroupName",
                       "nodeType": "CacheNodeType", "multiAzEnabled": "MultiAZEnabled",
                       "snapshotRetentionLimit": "SnapshotRetentionLimit"}


def rds_instance(rec: Record) -> list[str]:
    i = {k: v for k, v in unwrap(rec.inputs).items() if k not in RDS_NOT_IN_CREATE}
    return problems("rds", "CreateDBInstance", to_api(i, RDS_RENAMES))


def replication_group(rec: Record) -> list[str]:
    i = {k: v for k, v in unwrap(rec.inputs).items() if k not in ("applyImmediately",)}
    return problems("elasticache", "CreateReplicationGroup", to_api(i, ELASTICACHE_RENAMES))


# ------------------------------------------------------------------------------------------------
# IAM: parliament

# The community auditors' one expected finding: ecr:GetAuthorizationToken hands out a registry
# credential, which is exactly what pulling the image needs.
ACCEPTED_COMMUNITY = {"CREDENTIALS_EXPOSURE"}


def permission_policy(rec: Record) -> list[str]:
    import parliament
    doc = unwrap(rec.inputs)["policy"]
    out = [f"parliament {f.issue}: {f.detail}" for f in parliament.analyze_policy_string(doc).findings]
    community = parliament.analyze_policy_string(doc, include_community_auditors=True).findings
    out += [f"parliament (community) {f.issue}: {f.detail}" for f in community if f.issue not in ACCEPTED_COMMUNITY]
    return out


def trust_policy(rec: Record) -> list[str]:
    import parliament
    # Parliament reads identity policies; a trust policy names no Resource, its only complaint here.
    findings = parliament.analyze_policy_string(rec.inputs["assumeRolePolicy"]).findings
    return [f"parliament {f.issue}: {f.detail}" for f in findings
            if not (f.issue == "MALFORMED" and "neither Resource" in str(f.detail))]


CHECKS: dict[str, Callable[[Record], list[str]]] = {
    "aws:ecs/taskDefinition:TaskDefinition": task_definition,
    "aws:lb/targetGroup:TargetGroup": target_group,
    "aws:appautoscaling/target:Target": scalable_target,
    "aws:appautoscaling/policy:Policy": scaling_policy,
    "aws:cloudwatch/metricAlarm:MetricAlarm": metric_alarm,
    "aws:wafv2/webAcl:WebAcl": web_acl,
    "aws:rds/instance:Instance": rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": replication_group,
    "aws:iam/rolePolicy:RolePolicy": permission_policy,
    "aws:s3/bucketPolicy:BucketPolicy": permission_policy,
    "aws:iam/role:Role": trust_policy,
}


def checked(run: Run) -> list[Record]:
    """The recorded resources this module has a model for."""
    return [r for r in run.records if r.type in CHECKS]


def problems_of(rec: Record) -> Iterator[str]:
    for problem in CHECKS[rec.type](rec):
        yield f"{rec.type} '{rec.name}': {problem}"


def check(run: Run) -> list[str]:
    return [p for rec in sorted(checked(run), key=lambda r: r.urn) for p in problems_of(rec)]
