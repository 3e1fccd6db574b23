"""Run the real program under the Pulumi SDK's mock runtime and record every resource it declares.

No engine, provider or cloud is involved: the SDK's MockMonitor receives each registration, a
`FakeCloud` answers with deterministic stand-ins for computed outputs (ids, ARNs, DNS names), and
`RecordingMonitor` keeps what was asked for — type, name, parent, options and inputs, with secrets
still wrapped — for the plan printer and the tests.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pulumi
import yaml
from pulumi.runtime import mocks as sdk_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.config import ALWAYS_SECRETS, NOTICES, OFFLINE, ROOT, load_yaml
from infra.engine import EngineError, engine_urn, refusals
from infra.errors import NAMESPACE, ConfigError, Problem

PROJECT = "berth"
ACCOUNT = "123456789012"
REGION = "us-east-1"
SECRET_MASK = "[secret]"


def _short_hash(*parts: str, length: int = 12) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def is_secret(value: Any) -> bool:
    return rpc.is_rpc_secret(value)


def unwrap(value: Any) -> Any:
    """Inputs with secrets unwrapped to their (fake) values: for assertions that need the value."""
    if is_secret(value):
        return unwrap(value["value"])
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def masked(value: Any) -> Any:
    """Inputs with every secret replaced by a mask: what the plan shows and writes."""
    if is_secret(value):
        return SECRET_MASK
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the mock runtime carries every number as a float
    if isinstance(value, pulumi.Resource):
        return f"<resource {type(value).__name__}>"
    return value


# ---------------------------------------------------------------------------------------------
# Fake computed outputs, by type token. Each gets (name, inputs) and returns extra state.

def _aws_arn(typ: str, name: str) -> str:
    service = typ.split(":")[1].split("/")[0]
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{typ.rsplit(':', 1)[-1].lower()}/{name}"


FAKE_OUTPUTS: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "random:index/randomPassword:RandomPassword": lambda n, i: {
        "result": f"mock-{n}-{_short_hash(n)}", "bcryptHash": f"mock-bcrypt-{_short_hash(n)}",
    },
    "docker:index/remoteImage:RemoteImage": lambda n, i: {
        "imageId": f"sha256:{_short_hash(n, str(i.get('name')), length=64)}",
        "repoDigest": f"{str(i.get('name')).split('@')[0]}@sha256:{_short_hash(n, length=64)}",
    },
    "docker:index/image:Image": lambda n, i: {
        "repoDigest": f"{str(i.get('imageName')).rsplit(':', 1)[0]}@sha256:{_short_hash(n, length=64)}",
        "baseImageName": i.get("imageName"),
    },
    "docker:index/network:Network": lambda n, i: {"id": _short_hash("net", n, length=64)},
    # aws target: the ARNs in the formats IAM and the APIs expect, and the computed outputs it reads.
    "aws:lb/loadBalancer:LoadBalancer": lambda n, i: {
        "arn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/{i.get('name', n)}/{_short_hash(n, length=16)}",
        "arnSuffix": f"app/{i.get('name', n)}/{_short_hash(n, length=16)}",
        "dnsName": f"{i.get('name', n)}-{_short_hash(n, length=10)}.{REGION}.elb.amazonaws.com",
        "zoneId": "Z35SXDOTRQ7X7K",
    },
    "aws:lb/targetGroup:TargetGroup": lambda n, i: {
        "arn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/{n}/{_short_hash(n, length=16)}",
        "arnSuffix": f"targetgroup/{n}/{_short_hash(n, length=16)}",
    },
    "aws:rds/instance:Instance": lambda n, i: {
        "address": f"{i.get('identifier', n)}.{_short_hash(n, length=12)}.{REGION}.rds.amazonaws.com",
        "endpoint": f"{i.get('identifier', n)}.{_short_hash(n, length=12)}.{REGION}.rds.amazonaws.com:5432",
        "identifier": i.get("identifier", n),
        "arn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{i.get('identifier', n)}",
    },
    "aws:elasticache/replicationGroup:ReplicationGroup": lambda n, i: {
        "primaryEndpointAddress": f"master.{i.get('replicationGroupId', n)}.{_short_hash(n, length=6)}.use1.cache.amazonaws.com",
        "arn": f"arn:aws:elasticache:{REGION}:{ACCOUNT}:replicationgroup:{i.get('replicationGroupId', n)}",
    },
    "aws:ecr/repository:Repository": lambda n, i: {
        "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{i.get('name', n)}",
        "registryId": ACCOUNT,
        "arn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{i.get('name', n)}",
    },
    "aws:acm/certificate:Certificate": lambda n, i: {
        "arn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/{_short_hash(n, length=8)}-0000-4000-8000-{_short_hash(n, length=12)}",
        "domainValidationOptions": [{
            "domainName": i.get("domainName"), "resourceRecordName": f"_{_short_hash(n)}.{i.get('domainName')}.",
            "resourceRecordType": "CNAME", "resourceRecordValue": f"_{_short_hash(n, 'v')}.acm-validations.aws.",
        }],
    },
    "aws:acm/certificateValidation:CertificateValidation": lambda n, i: {"certificateArn": i.get("certificateArn")},
    "aws:route53/record:Record": lambda n, i: {"fqdn": str(i.get("name", n)).rstrip(".")},
    "aws:secretsmanager/secret:Secret": lambda n, i: {
        "arn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{i.get('name', n)}-{_short_hash(n, length=6)}",
    },
    "aws:cloudwatch/logGroup:LogGroup": lambda n, i: {
        "arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{i.get('name', n)}",
    },
    "aws:iam/role:Role": lambda n, i: {"arn": f"arn:aws:iam::{ACCOUNT}:role/{i.get('name', n)}"},
    "aws:s3/bucket:Bucket": lambda n, i: {
        "bucket": f"{i.get('bucketPrefix', n)}{_short_hash(n, length=8)}",
        "arn": f"arn:aws:s3:::{i.get('bucketPrefix', n)}{_short_hash(n, length=8)}",
    },
    "aws:sns/topic:Topic": lambda n, i: {"arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:{i.get('name', n)}"},
    "aws:ecs/cluster:Cluster": lambda n, i: {"arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{i.get('name', n)}"},
    "aws:ecs/taskDefinition:TaskDefinition": lambda n, i: {
        "arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{i.get('family', n)}:1", "revision": 1,
    },
    "aws:cloudwatch/dashboard:Dashboard": lambda n, i: {"dashboardArn": f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{i.get('dashboardName', n)}"},
}


def fake_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if typ.startswith("aws:"):
        out = {"arn": _aws_arn(typ, name), "name": inputs.get("name", name)}
    metadata = inputs.get("metadata") or {}
    if typ.startswith("kubernetes:") and not metadata.get("name"):
        # pulumi-kubernetes auto-names an object without metadata.name: logical name, "-", 8 characters.
        out = {"metadata": {**metadata, "name": f"{name}-{_short_hash(typ, name, length=8)}"}}
    make = FAKE_OUTPUTS.get(typ)
    if make is not None:
        out.update(make(name, inputs))
    return out


FAKE_INVOKES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda a: {
        "names": [f"{REGION}a", f"{REGION}b", f"{REGION}c"],
        "zoneIds": ["use1-az1", "use1-az2", "use1-az4"], "id": REGION,
    },
    "aws:index/getCallerIdentity:getCallerIdentity": lambda a: {
        "accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/mock", "userId": "MOCK", "id": ACCOUNT,
    },
    "aws:index/getRegion:getRegion": lambda a: {"name": REGION, "region": REGION, "id": REGION},
    "aws:index/getPartition:getPartition": lambda a: {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": lambda a: {
        "userName": "AWS", "password": "mock-ecr-password", "authorizationToken": "mock-ecr-token",
        "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com", "expiresAt": "2099-01-01T00:00:00Z",
        "registryId": a.get("registryId", ACCOUNT), "id": REGION,
    },
    "aws:ec2/getVpc:getVpc": lambda a: {  # an existing VPC: a primary and a secondary range
        "id": a.get("id"), "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{a.get('id')}", "cidrBlock": "172.31.0.0/16",
        "cidrBlockAssociations": [
            {"associationId": "vpc-cidr-assoc-0a1b2c3d", "cidrBlock": "172.31.0.0/16", "state": "associated"},
            {"associationId": "vpc-cidr-assoc-4e5f6a7b", "cidrBlock": "100.64.0.0/16", "state": "associated"},
        ],
        "default": False, "enableDnsHostnames": True, "enableDnsSupport": True, "state": "available",
        "ownerId": ACCOUNT, "tags": {},
    },
    "aws:elb/getServiceAccount:getServiceAccount": lambda a: {
        "arn": "arn:aws:iam::127311923021:root", "id": "127311923021",  # us-east-1's ELB account
    },
}


class FakeCloud(sdk_mocks.Mocks):
    """Answers registrations and invokes with deterministic values, the same on every run."""

    secret_outputs: list[str] = []

    def new_resource(self, args: sdk_mocks.MockResourceArgs):
        state = dict(args.inputs)
        for key, value in fake_outputs(args.typ, args.name, args.inputs).items():
            if key != "name" or key not in state:  # a name the program chose wins over the fake one
                state[key] = value
        for key in self.secret_outputs:
            if key in state and not is_secret(state[key]):
                state[key] = pulumi.Output.secret(state[key])
        if args.custom is False:
            return None, state
        return f"{args.name}-{_short_hash(args.typ, args.name, length=8)}", state

    def call(self, args: sdk_mocks.MockCallArgs):
        make = FAKE_INVOKES.get(args.token)
        if make is None:
            raise NotImplementedError(f"no fake answer for invoke {args.token}; add one to FAKE_INVOKES")
        return make(args.args), []


@dataclass
class Record:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    # Input name → the URNs its value came from: what stack policies join resources by.
    property_deps: dict[str, list[str]] = field(default_factory=dict)

    def masked_inputs(self) -> dict[str, Any]:
        return masked(self.inputs)


class RecordingMonitor(sdk_mocks.MockMonitor):
    def __init__(self, mocks: FakeCloud):
        super().__init__(mocks)
        self.records: list[Record] = []
        self.stack_urn = ""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The SDK's mock keeps only the last parent type; the engine keeps the whole chain.
        return engine_urn(pulumi.get_stack(), pulumi.get_project(), parent, type_, name)

    def RegisterResource(self, request):
        self.mocks.secret_outputs = list(request.additionalSecretOutputs)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = response.urn
            return response
        options = {
            "protect": bool(getattr(request, "protect", False)),
            # A set, which the SDK sends in the order its concurrent registrations finished.
            "depends_on": sorted(request.dependencies),
            "ignore_changes": list(request.ignoreChanges),
            "delete_before_replace": bool(request.deleteBeforeReplace),
            "retain_on_delete": bool(getattr(request, "retainOnDelete", False)),
            "additional_secret_outputs": list(request.additionalSecretOutputs),
            "provider": request.provider,
        }
        self.records.append(Record(
            urn=response.urn, type=request.type, name=request.name, parent=request.parent,
            custom=bool(request.custom), inputs=rpc.deserialize_properties(request.object), options=options,
            property_deps={k: sorted(v.urns) for k, v in request.propertyDependencies.items() if v.urns},
        ))
        return response


# ---------------------------------------------------------------------------------------------
# Stack files → the config the Pulumi runtime would hand the program


def stack_file(stack: str, root: Path = ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def shipped_stacks(root: Path = ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def runtime_config(config: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """What the CLI hands a program: every value as a string (structured ones as JSON), plus the
    keys that hold secrets. A `secure:` value cannot be decrypted here (no passphrase, no engine),
    so it becomes a fake plaintext that only the program's secret handling can hide again."""
    values, secret_keys = {}, []

    def fake(v: Any, key: str) -> Any:
        if isinstance(v, dict) and set(v) == {"secure"}:
            return f"mock-secret-{key.split(':')[-1].lower()}-{_short_hash(str(v['secure']), length=6)}"
        if isinstance(v, dict):
            return {k: fake(x, key) for k, x in v.items()}
        if isinstance(v, list):
            return [fake(x, key) for x in v]
        return v

    for key, value in (config or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if _has_secure(value):
            secret_keys.append(full)
        value = fake(value, full)
        values[full] = json.dumps(value) if isinstance(value, (dict, list, bool)) else str(value)
    return values, secret_keys


def _has_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_has_secure(x) for x in value.values())
    if isinstance(value, list):
        return any(_has_secure(x) for x in value)
    return False


def read_stack_config(stack: str, root: Path = ROOT) -> dict[str, Any]:
    """A stack file's config, refused where the engine could not read it."""
    path = stack_file(stack, root)
    if not path.exists():
        known = ", ".join(shipped_stacks(root)) or "none"
        raise FileNotFoundError(f"no stack file {path.name} (shipped stacks: {known})")
    doc = load_yaml(path) or {}
    config = doc.get("config") or {}
    # Ciphertext is only readable with the salt (passphrase provider) or the secrets provider
    # that wrote it, and both are written beside it: without them `pulumi preview` cannot start.
    if not (doc.get("encryptionsalt") or doc.get("secretsprovider")):
        unreadable = [k for k, v in config.items() if _has_secure(v)]
        if unreadable:
            raise ConfigError(stack, [Problem(
                k.removeprefix(f"{NAMESPACE}:"), f"a secret set with `pulumi config set --secret` (it writes the"
                f" stack's encryptionsalt or secretsprovider to {path.name} too)",
                "a secure: value and no encryptionsalt or secretsprovider, which the engine cannot decrypt")
                for k in unreadable])
    return config


def offline_secrets(config: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The secrets a stack lists but has not set, as masked placeholders: the offline plan goes on
    and says so; a real `pulumi up` refuses the stack, naming each one and the command to set it."""
    listed = config.get(f"{NAMESPACE}:secrets")
    if isinstance(listed, str):
        try:
            listed = json.loads(listed)
        except ValueError:
            listed = None
    if not isinstance(listed, list):
        return config, []
    config, notices = dict(config), []
    for name in listed:
        key = f"{NAMESPACE}:{name}"
        if isinstance(name, str) and key not in config and name not in ALWAYS_SECRETS:
            config[key] = {"secure": f"offline-placeholder-{name}"}
            notices.append(f"{key}: not set; the offline plan uses a masked placeholder "
                           f"(set it before `pulumi up`: pulumi config set --secret {name} <value>)")
    return config, notices


@dataclass
class Run:
    stack: str
    records: list[Record]
    outputs: dict[str, Any]
    secret_outputs: list[str]
    notices: list[str] = field(default_factory=list)  # what a real run would refuse, planned anyway
    config: dict[str, Any] = field(default_factory=dict)  # the stack config the run was given

    def by_type(self, typ: str) -> list[Record]:
        return [r for r in self.records if r.type == typ]

    def one(self, typ: str, name: Optional[str] = None) -> Record:
        found = [r for r in self.by_type(typ) if name is None or r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one {typ} {name or ''}, found {[r.name for r in found]}")
        return found[0]


def run_program(
    stack: str, config: dict[str, Any], program: Optional[Callable[[], None]] = None
) -> Run:
    """Run `program` (the real one by default) under mocks with the given stack config."""
    return contextvars.Context().run(_run, stack, config, program)


def _run(stack: str, config: dict[str, Any], program: Optional[Callable[[], None]]) -> Run:
    if program is None:
        from infra.program import main as program
    config, notices = offline_secrets(config)
    values, secret_keys = runtime_config(config)
    set_all_config(values, secret_keys)
    OFFLINE.set(True)
    NOTICES.set(notices)
    settings.ROOT.set(None)
    monitor = RecordingMonitor(FakeCloud())
    sdk_mocks.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    try:
        _sync_await(run_pulumi_func(program))
    except Exception as exc:
        exc.records = monitor.records  # what was declared before the failure (tests assert: nothing)
        raise
    refused = refusals(monitor.records, _target(values))
    if refused:
        error = EngineError(stack, refused)
        error.records = monitor.records
        raise error
    root = settings.get_root_resource()
    outputs, secret_outputs = {}, []
    for key, value in (root.outputs if root else {}).items():
        out = pulumi.Output.from_input(value)
        outputs[key] = _sync_await(out.future())
        if _sync_await(out.is_secret()):
            secret_outputs.append(key)
    return Run(stack=stack, records=monitor.records, outputs=outputs, secret_outputs=secret_outputs,
               notices=list(dict.fromkeys(notices)), config=config)


def _target(values: dict[str, str]) -> Optional[str]:
    target = values.get(f"{NAMESPACE}:target")
    from infra import targets
    return target if target in targets.TARGETS else None


def run_stack(stack: str, root: Path = ROOT) -> Run:
    return run_program(stack, read_stack_config(stack, root))


__all__ = ["FakeCloud", "Record", "Run", "run_program", "run_stack", "shipped_stacks", "NAMESPACE"]


# ---------------------------------------------------------------------------------------------
# gcp target: the computed outputs it reads, in the formats the APIs return.

def _gcp_project() -> str:
    return pulumi.Config("gcp").get("project") or "mock-project"


def _gcp_region() -> str:
    return pulumi.Config("gcp").get("region") or "europe-west1"


MOCK_CA = "-----BEGIN CERTIFICATE-----\nMIIBmockmemorystoreca\n-----END CERTIFICATE-----\n"

FAKE_OUTPUTS.update({
    "gcp:compute/globalAddress:GlobalAddress": lambda n, i: {
        "address": "203.0.113.10" if i.get("addressType", "EXTERNAL") == "EXTERNAL" else "10.100.0.0",
        "selfLink": f"https://www.googleapis.com/compute/v1/projects/{_gcp_project()}/global/addresses/{i.get('name', n)}",
    },
    "gcp:serviceaccount/account:Account": lambda n, i: {
        "email": f"{i.get('accountId', n)}@{_gcp_project()}.iam.gserviceaccount.com",
        "member": f"serviceAccount:{i.get('accountId', n)}@{_gcp_project()}.iam.gserviceaccount.com",
        "uniqueId": str(int(_short_hash(n, length=12), 16)),
    },
    "gcp:secretmanager/secret:Secret": lambda n, i: {
        "name": f"projects/{_gcp_project()}/secrets/{i.get('secretId', n)}",
    },
    "gcp:secretmanager/secretVersion:SecretVersion": lambda n, i: {
        "version": "1", "name": f"{i.get('secret')}/versions/1",
    },
    "gcp:sql/databaseInstance:DatabaseInstance": lambda n, i: {
        "name": i.get("name") or f"{n}-{_short_hash(n, length=7)}",
        "privateIpAddress": "10.100.0.3",
        "connectionName": f"{_gcp_project()}:{_gcp_region()}:{i.get('name') or f'{n}-{_short_hash(n, length=7)}'}",
    },
    "gcp:redis/instance:Instance": lambda n, i: {
        "host": "10.100.1.4",
        "port": 6378 if i.get("transitEncryptionMode") == "SERVER_AUTHENTICATION" else 6379,
        "authString": f"mock-redis-auth-{_short_hash(n, 'auth')}",
        "serverCaCerts": [{"cert": MOCK_CA, "commonName": "Google Cloud Memorystore Redis Server CA"}],
    },
    "gcp:cloudrunv2/service:Service": lambda n, i: {
        "uri": f"https://{i.get('name', n)}-{_short_hash(n, length=10)}-ew.a.run.app",
    },
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": lambda n, i: {
        "uptimeCheckId": f"{n}-{_short_hash(n, length=10)}",
    },
    "gcp:monitoring/notificationChannel:NotificationChannel": lambda n, i: {
        "name": f"projects/{_gcp_project()}/notificationChannels/{int(_short_hash(n, length=10), 16)}",
    },
})

FAKE_INVOKES.update({
    "gcp:organizations/getClientConfig:getClientConfig": lambda a: {
        "accessToken": "mock-gcp-access-token", "project": _gcp_project(), "region": _gcp_region(),
        "zone": "", "defaultLabels": {}, "id": _gcp_project(),
    },
})
