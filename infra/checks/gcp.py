"""The gcp target's recorded resources checked against independent models of Google Cloud's APIs.

- Every Cloud Run v2 service, worker pool and job is rebuilt as the matching `google.cloud.run_v2`
  message (through protobuf's JSON parser, which refuses an unknown field or a wrong type), then
  held to the limits Cloud Run documents on those messages (probe timings, reserved env names,
  version-pinned secret references, sizes).
- Cloud SQL, Memorystore, the load balancer and Cloud Armor, Cloud Monitoring, Secret Manager,
  Artifact Registry, IAM and the network are mapped by hand from the provider's inputs to the REST
  request body and walked against the API discovery documents that google-api-python-client ships
  (`googleapiclient/discovery_cache/documents/*.json`): unknown fields, wrong JSON types, enum
  values, int32 ranges, output-only fields.

The mock runtime carries every number as a float: whole floats become ints before either check
(`infra.mocks.masked`, which also keeps every secret masked).
`check(run)` returns one line per problem, "<type> '<name>': <reason>"; an empty list means valid.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

INT32 = (-2 ** 31, 2 ** 31 - 1)
UINT32 = (0, 2 ** 32 - 1)
DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")

# ---------------------------------------------------------------------------------------------
# Shared helpers


def _plain(inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs as the plan shows them: whole floats back to ints, every secret a masked string
    (the models check types and shapes; no secret value needs to reach them)."""
    from infra.mocks import masked
    return masked(inputs)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _pick(inputs: dict[str, Any], *keys: str, **renames: str) -> dict[str, Any]:
    """The listed keys as they are, and `api_name=provider_name` renames, when present."""
    out = {k: inputs[k] for k in keys if k in inputs}
    out.update({api: inputs[prov] for api, prov in renames.items() if prov in inputs})
    return out


# ---------------------------------------------------------------------------------------------
# Discovery documents


def _documents_dir() -> Path:
    import googleapiclient
    return Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"


@functools.lru_cache(maxsize=None)
def discovery(api: str) -> dict[str, Any]:
    return json.loads((_documents_dir() / f"{api}.json").read_text())


def schema_problems(api: str, schema: str, body: Any) -> list[str]:
    """What the API (by its discovery document) would refuse in `body`, a request of type `schema`."""
    doc = discovery(api)
    out: list[str] = []
    _walk(body, {"$ref": schema}, doc, schema, out)
    return out


def _walk(value: Any, schema: dict[str, Any], doc: dict[str, Any], path: str, out: list[str]) -> None:
    if "$ref" in schema:
        schema = doc["schemas"][schema["$ref"]]
    if schema.get("readOnly"):
        out.append(f"{path}: output only, not accepted in a request")
        return
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "object":
        if not isinstance(value, dict):
            out.append(f"{path}: expected an object, found {type(value).__name__}")
            return
        props, extra = schema.get("properties") or {}, schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                _walk(item, props[key], doc, f"{path}.{key}", out)
            elif extra is not None:
                _walk(item, extra, doc, f"{path}[{key!r}]", out)
            else:
                out.append(f"{path}.{key}: unknown field")
    elif kind == "array":
        if not isinstance(value, list):
            out.append(f"{path}: expected a list, found {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _walk(item, schema.get("items") or {}, doc, f"{path}[{i}]", out)
    elif kind == "string":
        if fmt in ("int64", "uint64"):
            ok = (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, str) and re.fullmatch(r"-?\d+", value))
            if not ok or (fmt == "uint64" and int(value) < 0):
                out.append(f"{path}: expected an {fmt}, found {value!r}")
        elif not isinstance(value, str):
            out.append(f"{path}: expected a string, found {type(value).__name__} {value!r}")
        elif fmt == "google-duration" and not DURATION.match(value):
            out.append(f"{path}: expected a duration like '60s', found {value!r}")
        elif fmt == "byte":
            try:
                base64.b64decode(value, validate=True)
            except ValueError:
                out.append(f"{path}: expected base64, found {value[:12]!r}…")
        elif schema.get("enum") and value not in schema["enum"]:
            out.append(f"{path}: {value!r} is not one of {schema['enum']}")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            out.append(f"{path}: expected an integer, found {type(value).__name__} {value!r}")
            return
        low, high = UINT32 if fmt == "uint32" else INT32
        if not low <= value <= high:
            out.append(f"{path}: {value} is outside {fmt}")
    elif kind == "number":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            out.append(f"{path}: expected a number, found {type(value).__name__} {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            out.append(f"{path}: expected true or false, found {type(value).__name__} {value!r}")


# ---------------------------------------------------------------------------------------------
# Cloud Run v2: the provider's inputs → the run_v2 message's JSON form

RUN_RENAMES = {"envs": "env", "commands": "command", "dependsOns": "dependsOn", "traffics": "traffic"}
RUN_PROVIDER_ONLY = {"name", "location", "project", "deletionProtection", "deletionPolicy"}
RESERVED_ENV = {"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION", "CLOUD_RUN_JOB", "CLOUD_RUN_EXECUTION",
                "CLOUD_RUN_TASK_INDEX", "CLOUD_RUN_TASK_ATTEMPT", "CLOUD_RUN_TASK_COUNT", "CLOUD_RUN_WORKER_POOL"}
RUN_CPUS = {"1", "2", "4", "6", "8"}
RUN_MEMORY = re.compile(r"^\d+(Mi|Gi)$")
STARTUP_MAX, LIVENESS_MAX = 240, 3600
EXECUTION_NAME_MAX = 62


def run_json(inputs: dict[str, Any]) -> dict[str, Any]:
    def convert(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                new = RUN_RENAMES.get(k, k)
                if k == "ports" and isinstance(v, dict):  # the provider's one port block; the API's list
                    v = [v]
                out[new] = convert(v, new)
            return out
        if isinstance(value, list):
            return [convert(v, key) for v in value]
        return value
    return convert({k: v for k, v in inputs.items() if k not in RUN_PROVIDER_ONLY})


def run_message(kind: str, inputs: dict[str, Any]):
    """The run_v2 message (Service, WorkerPool or Job) for the recorded inputs; raises on an unknown
    field or a wrong type, as the API would."""
    from google.cloud import run_v2
    return getattr(run_v2, kind).from_json(json.dumps(run_json(inputs)))


def _containers(body: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    template = body.get("template") or {}
    if "template" in template:  # a job: ExecutionTemplate → TaskTemplate
        template = template["template"]
    for c in template.get("containers") or []:
        yield c.get("name", "?"), c


def run_problems(kind: str, inputs: dict[str, Any]) -> list[str]:
    try:
        run_message(kind, inputs)
    except Exception as exc:  # protobuf's ParseError: the message the API would not accept
        return [f"not a valid run_v2.{kind}: {exc}"]
    out: list[str] = []
    body = run_json(inputs)
    secrets_known = True
    for name, c in _containers(body):
        seen: set[str] = set()
        for env in c.get("env") or []:
            key = env.get("name")
            if key in RESERVED_ENV:
                out.append(f"container {name}: env {key} is reserved by Cloud Run")
            if key in seen:
                out.append(f"container {name}: env {key} set twice")
            seen.add(key)
            if ("value" in env) == ("valueSource" in env):
                out.append(f"container {name}: env {key} needs exactly one of value and valueSource")
            ref = (env.get("valueSource") or {}).get("secretKeyRef")
            if ref is not None and not re.fullmatch(r"\d+", str(ref.get("version", ""))):
                out.append(f"container {name}: secret {key} is not pinned to a version ({ref.get('version')!r})")
                secrets_known = False
        limits = (c.get("resources") or {}).get("limits") or {}
        if "cpu" in limits and limits["cpu"] not in RUN_CPUS:
            out.append(f"container {name}: cpu {limits['cpu']!r} is not one of {sorted(RUN_CPUS)}")
        if "memory" in limits and not RUN_MEMORY.match(limits["memory"]):
            out.append(f"container {name}: memory {limits['memory']!r} is not like 512Mi")
        for probe_kind, most in (("startupProbe", STARTUP_MAX), ("livenessProbe", LIVENESS_MAX)):
            p = c.get(probe_kind)
            if p is None:
                continue
            period, timeout = p.get("periodSeconds", 10), p.get("timeoutSeconds", 1)
            if not 1 <= period <= most:
                out.append(f"container {name}: {probe_kind}.periodSeconds {period} outside 1–{most}")
            if not 1 <= timeout <= period:
                out.append(f"container {name}: {probe_kind}.timeoutSeconds {timeout} outside 1–periodSeconds")
            if not 0 <= p.get("initialDelaySeconds", 0) <= most:
                out.append(f"container {name}: {probe_kind}.initialDelaySeconds outside 0–{most}")
            if p.get("failureThreshold", 3) < 1:
                out.append(f"container {name}: {probe_kind}.failureThreshold below 1")
    template = body.get("template") or {}
    scaling = template.get("scaling") or {}
    if scaling.get("minInstanceCount", 0) > scaling.get("maxInstanceCount", 10 ** 6):
        out.append("template.scaling: minInstanceCount above maxInstanceCount")
    concurrency = template.get("maxInstanceRequestConcurrency")
    if concurrency is not None and not 1 <= concurrency <= 1000:
        out.append(f"template.maxInstanceRequestConcurrency {concurrency} outside 1–1000")
    if kind == "Job" and "runExecutionToken" in body:
        if len(inputs.get("name", "")) + 1 + len(body["runExecutionToken"]) > EXECUTION_NAME_MAX:
            out.append("name and runExecutionToken together exceed the 63 characters of an execution name")
    return out


# ---------------------------------------------------------------------------------------------
# Everything else: the provider's inputs → REST request bodies, walked against discovery


def _sql_instance(i: dict[str, Any]) -> list[str]:
    s = dict(i.get("settings") or {})
    renames = {"diskType": "dataDiskType", "diskSize": "dataDiskSizeGb", "diskAutoresize": "storageAutoResize",
               "diskAutoresizeLimit": "storageAutoResizeLimit"}
    settings = {renames.get(k, k): v for k, v in s.items()}
    body = {"name": i.get("name", "autonamed"), "databaseVersion": i.get("databaseVersion"),
            "region": i.get("region"), "settings": settings}
    return schema_problems("sqladmin.v1", "DatabaseInstance", _drop_none(body))


def _redis(i: dict[str, Any]) -> list[str]:
    body = {k: v for k, v in i.items() if k not in ("name", "region", "project", "deletionProtection")}
    if "maintenancePolicy" in body:  # the provider's list is the API's singular field
        policy = dict(body["maintenancePolicy"])
        if "weeklyMaintenanceWindows" in policy:
            policy["weeklyMaintenanceWindow"] = policy.pop("weeklyMaintenanceWindows")
        body["maintenancePolicy"] = policy
    return schema_problems("redis.v1", "Instance", body)


def _compute(schema: str, provider_only: tuple[str, ...] = (), **renames: str) -> Callable[[dict], list[str]]:
    def check(i: dict[str, Any]) -> list[str]:
        body = {k: v for k, v in i.items() if k not in ("project", *provider_only) and k not in renames.values()}
        body.update({api: i[prov] for api, prov in renames.items() if prov in i})
        return schema_problems("compute.v1", schema, body)
    return check


def _network(i: dict[str, Any]) -> list[str]:
    body = _pick(i, "name", "autoCreateSubnetworks", "description")
    if "routingMode" in i:
        body["routingConfig"] = {"routingMode": i["routingMode"]}
    return schema_problems("compute.v1", "Network", body)


def _subnetwork(i: dict[str, Any]) -> list[str]:
    body = _pick(i, "name", "network", "region", "ipCidrRange", "privateIpGoogleAccess", "description")
    if "logConfig" in i:
        body["logConfig"] = {"enable": True, **i["logConfig"]}
    return schema_problems("compute.v1", "Subnetwork", body)


def _router_nat(i: dict[str, Any]) -> list[str]:
    body = {k: v for k, v in i.items() if k not in ("router", "region", "project")}
    return schema_problems("compute.v1", "RouterNat", body)


def _certificate(i: dict[str, Any]) -> list[str]:
    body = {"type": i.get("type", "MANAGED"), **_pick(i, "name", "managed", "description")}
    return schema_problems("compute.v1", "SslCertificate", body)


def _alert_policy(i: dict[str, Any]) -> list[str]:
    return schema_problems("monitoring.v3", "AlertPolicy", {k: v for k, v in i.items() if k != "project"})


def _uptime(i: dict[str, Any]) -> list[str]:
    return schema_problems("monitoring.v3", "UptimeCheckConfig", {k: v for k, v in i.items() if k != "project"})


def _channel(i: dict[str, Any]) -> list[str]:
    return schema_problems("monitoring.v3", "NotificationChannel",
                           {k: v for k, v in i.items() if k not in ("project", "forceDelete")})


def _dashboard(i: dict[str, Any]) -> list[str]:
    return schema_problems("monitoring.v1", "Dashboard", json.loads(i["dashboardJson"]))


def _secret(i: dict[str, Any]) -> list[str]:
    body = _pick(i, "labels", "annotations", "topics", "ttl", "expireTime", "versionAliases")
    replication = i.get("replication") or {}
    body["replication"] = {"automatic": replication["auto"]} if "auto" in replication else \
        {"userManaged": replication.get("userManaged")}
    return schema_problems("secretmanager.v1", "Secret", body)


def _secret_version(i: dict[str, Any]) -> list[str]:
    data = str(i.get("secretData", ""))
    body = {"payload": {"data": base64.b64encode(data.encode()).decode()}}
    return schema_problems("secretmanager.v1", "AddSecretVersionRequest", body)


def _member(i: dict[str, Any], api: str) -> list[str]:
    out = schema_problems(api, "Binding", {"role": i.get("role"), "members": [i.get("member")]})
    if not str(i.get("role", "")).startswith("roles/"):
        out.append(f"role {i.get('role')!r} is not a predefined role")
    if not str(i.get("member", "")).startswith("serviceAccount:"):
        out.append(f"member {i.get('member')!r} is not a service account")
    return out


def _repository(i: dict[str, Any]) -> list[str]:
    body = _pick(i, "format", "description", "dockerConfig", "cleanupPolicyDryRun", "labels", "mode")
    if "cleanupPolicies" in i:
        body["cleanupPolicies"] = {p["id"]: p for p in i["cleanupPolicies"]}
    return schema_problems("artifactregistry.v1", "Repository", body)


def _account(i: dict[str, Any]) -> list[str]:
    body = {"accountId": i.get("accountId"),
            "serviceAccount": _pick(i, "displayName", "description")}
    return schema_problems("iam.v1", "CreateServiceAccountRequest", body)


def _connection(i: dict[str, Any]) -> list[str]:
    # `service` names the path (services/<service>/connections), not a body field.
    return schema_problems("servicenetworking.v1", "Connection", _pick(i, "network", "reservedPeeringRanges"))


def _sql_database(i: dict[str, Any]) -> list[str]:
    return schema_problems("sqladmin.v1", "Database", _pick(i, "name", "instance", "charset", "collation"))


def _sql_user(i: dict[str, Any]) -> list[str]:
    return schema_problems("sqladmin.v1", "User", _pick(i, "name", "instance", "password", "type"))


def _keepalive(check: Callable[[dict], list[str]]) -> Callable[[dict], list[str]]:
    def wrapped(i: dict[str, Any]) -> list[str]:
        out = check(i)
        keepalive = i.get("httpKeepAliveTimeoutSec")
        if keepalive is not None and not 5 <= keepalive <= 1200:
            out.append(f"httpKeepAliveTimeoutSec {keepalive} outside 5–1200 (global external load balancer)")
        return out
    return wrapped


CHECKS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "gcp:cloudrunv2/service:Service": lambda i: run_problems("Service", i),
    "gcp:cloudrunv2/workerPool:WorkerPool": lambda i: run_problems("WorkerPool", i),
    "gcp:cloudrunv2/job:Job": lambda i: run_problems("Job", i),
    "gcp:sql/databaseInstance:DatabaseInstance": _sql_instance,
    "gcp:sql/database:Database": _sql_database,
    "gcp:sql/user:User": _sql_user,
    "gcp:redis/instance:Instance": _redis,
    "gcp:compute/network:Network": _network,
    "gcp:compute/subnetwork:Subnetwork": _subnetwork,
    "gcp:compute/router:Router": _compute("Router"),
    "gcp:compute/routerNat:RouterNat": _router_nat,
    "gcp:compute/globalAddress:GlobalAddress": _compute("Address"),
    "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup": _compute("NetworkEndpointGroup", ("region",)),
    "gcp:compute/backendService:BackendService": _compute("BackendService"),
    "gcp:compute/uRLMap:URLMap": _compute("UrlMap"),
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": _keepalive(_compute("TargetHttpsProxy")),
    "gcp:compute/targetHttpProxy:TargetHttpProxy": _keepalive(_compute("TargetHttpProxy")),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": _compute(
        "ForwardingRule", IPAddress="ipAddress", IPProtocol="ipProtocol"),
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": _certificate,
    "gcp:compute/securityPolicy:SecurityPolicy": _compute("SecurityPolicy"),
    "gcp:compute/sSLPolicy:SSLPolicy": _compute("SslPolicy"),
    "gcp:servicenetworking/connection:Connection": _connection,
    "gcp:monitoring/alertPolicy:AlertPolicy": _alert_policy,
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": _uptime,
    "gcp:monitoring/notificationChannel:NotificationChannel": _channel,
    "gcp:monitoring/dashboard:Dashboard": _dashboard,
    "gcp:secretmanager/secret:Secret": _secret,
    "gcp:secretmanager/secretVersion:SecretVersion": _secret_version,
    "gcp:secretmanager/secretIamMember:SecretIamMember": lambda i: _member(i, "secretmanager.v1"),
    "gcp:projects/iAMMember:IAMMember": lambda i: _member(i, "cloudresourcemanager.v1"),
    "gcp:artifactregistry/repository:Repository": _repository,
    "gcp:serviceaccount/account:Account": _account,
}


def check(run: Any, types: Optional[Iterable[str]] = None) -> list[str]:
    """Every problem in the run's gcp resources (only `types`, when given), one line each."""
    wanted = set(types) if types is not None else None
    out: list[str] = []
    for rec in run.records:
        handler = CHECKS.get(rec.type)
        if handler is None or not rec.custom or (wanted is not None and rec.type not in wanted):
            continue
        out += [f"{rec.type} '{rec.name}': {p}" for p in handler(_plain(rec.inputs))]
    return out


def unchecked_types(run: Any) -> set[str]:
    """gcp types the run declares that no model above covers (the tests keep this empty)."""
    return {r.type for r in run.records if r.custom and r.type.startswith("gcp:") and r.type not in CHECKS}
