"""GCP's rules for the physical names berth sets, and how a long name is shortened to fit.

The plan (infra/engine.py) refuses a name that breaks one of these rules, so a stack that plans is
one GCP accepts. A name unique "per type" is unique in the plan, which is one project and region.
Limits are the APIs' own: Cloud Run services and worker pools ≤ 49 (the revision suffix takes the
rest of 63), jobs ≤ 63, service account ids 6–30, Memorystore ids ≤ 40, Compute Engine names ≤ 63
(RFC 1035), secret ids ≤ 255, Artifact Registry repositories ≤ 63.
"""

from __future__ import annotations

import hashlib

from infra.engine import NameRule

RFC1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
HASH_LEN = 6

RUN_SERVICE_MAX = 49
RUN_JOB_MAX = 63
ACCOUNT_ID_MIN, ACCOUNT_ID_MAX = 6, 30
REDIS_MAX = 40
COMPUTE_MAX = 63
# A job execution is named `<job>-<run_execution_token>`: the two together stay under 63.
EXECUTION_NAME_MAX = 62


def fit(name: str, max_len: int) -> str:
    """`name` when it fits; otherwise its head and a short hash of the whole, so two long names
    that share a head stay distinct and the same input always gives the same name."""
    if len(name) <= max_len:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:HASH_LEN]
    head = name[: max_len - HASH_LEN - 1].rstrip("-")
    return f"{head}-{digest}"


def compute(*parts: str) -> str:
    return fit("-".join(parts), COMPUTE_MAX)


def run_service(prefix: str, service: str) -> str:
    return fit(f"{prefix}-{service}", RUN_SERVICE_MAX)


def account_id(prefix: str, service: str) -> str:
    return fit(f"{prefix}-{service}", ACCOUNT_ID_MAX)


COMPUTE = "Compute Engine: ≤ 63, a lower-case letter first, lower case, digits and hyphens, no trailing hyphen"

PHYSICAL_NAMES = {
    "gcp:cloudrunv2/service:Service": NameRule(
        "name", RUN_SERVICE_MAX, RFC1035, "Cloud Run service: ≤ 49, a lower-case letter first, lower case, digits, hyphens",
        unique_within=("location",)),
    "gcp:cloudrunv2/workerPool:WorkerPool": NameRule(
        "name", RUN_SERVICE_MAX, RFC1035, "Cloud Run worker pool: ≤ 49, a lower-case letter first, lower case, digits, hyphens",
        unique_within=("location",)),
    "gcp:cloudrunv2/job:Job": NameRule(
        "name", RUN_JOB_MAX, RFC1035, "Cloud Run job: ≤ 63, a lower-case letter first, lower case, digits, hyphens",
        unique_within=("location",)),
    "gcp:serviceaccount/account:Account": NameRule(
        "accountId", ACCOUNT_ID_MAX, r"(?=.{6,30}$)[a-z]([-a-z0-9]*[a-z0-9])",
        "IAM service account id: 6–30, a lower-case letter first, lower case, digits, hyphens"),
    "gcp:redis/instance:Instance": NameRule(
        "name", REDIS_MAX, RFC1035, "Memorystore: ≤ 40, a lower-case letter first, lower case, digits, hyphens"),
    "gcp:sql/databaseInstance:DatabaseInstance": NameRule(
        "name", 84, RFC1035, "Cloud SQL: a lower-case letter first, lower case, digits, hyphens"),
    "gcp:secretmanager/secret:Secret": NameRule(
        "secretId", 255, r"[A-Za-z0-9_-]+", "Secret Manager: ≤ 255 of letters, digits, _ -"),
    "gcp:artifactregistry/repository:Repository": NameRule(
        "repositoryId", 63, RFC1035, "Artifact Registry: ≤ 63, a lower-case letter first, lower case, digits, hyphens",
        unique_within=("location",)),
    **{t: NameRule("name", COMPUTE_MAX, RFC1035, COMPUTE) for t in (
        "gcp:compute/network:Network",
        "gcp:compute/subnetwork:Subnetwork",
        "gcp:compute/router:Router",
        "gcp:compute/globalAddress:GlobalAddress",
        "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup",
        "gcp:compute/backendService:BackendService",
        "gcp:compute/uRLMap:URLMap",
        "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
        "gcp:compute/targetHttpProxy:TargetHttpProxy",
        "gcp:compute/globalForwardingRule:GlobalForwardingRule",
        "gcp:compute/managedSslCertificate:ManagedSslCertificate",
        "gcp:compute/securityPolicy:SecurityPolicy",
        "gcp:compute/sSLPolicy:SSLPolicy",
    )},
    "gcp:compute/routerNat:RouterNat": NameRule("name", COMPUTE_MAX, RFC1035, COMPUTE, unique_within=("router",)),
}
