"""berth's production rules, each written once against the facts (facts.py).

A rule is a function of one fact, yielding what is wrong with it; `STACK_RULES` are functions of
every fact of a stack (what no single resource can show). Which facts a rule reads decides which
targets it covers: a target covers a rule when its adapter yields those facts.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from berth_policy.facts import (Alerting, Container, Datastore, Fact, ImageRef, Listener, LogStore, Opening,
                                PlainConfig)

MIN_BACKUP_DAYS = 7
EDGE_PORTS = frozenset({80, 443})
ROOT_USERS = ("", "0", "root")
# The same credential-looking names the config spine refuses as plain env (infra/config.py), plus
# the URLs that carry a password.
CREDENTIAL_NAME = re.compile(
    r"(SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIAL|DATABASE_URL|REDIS_URL)", re.I)
# Hex that names a build, not a credential: GIT_SHA=<40 hex>, IMAGE_DIGEST=<64 hex>.
BUILD_ID_NAME = re.compile(r"(_SHA|_DIGEST|_COMMIT|_REVISION|_VERSION|_HASH)$", re.I)
URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
KNOWN_KEY_PREFIX = re.compile(r"^(sk-|sk_live_|rk_live_|AKIA|ASIA|ghp_|gho_|github_pat_|glpat-|xox[abpr]-|AIza)")
TOKEN = re.compile(r"[A-Za-z0-9+/=_\-]{20,}")
HEX = set("0123456789abcdefABCDEF")
# Bits per character above which a long token is taken for a key. Random base64/alphanumerics
# score 4.5–6; words, paths, hostnames and version strings stay under 4.
HIGH_ENTROPY = 4.2
HEX_ENTROPY = 3.0


def entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def secret_looking(name: str, value: str) -> str | None:
    """Why a plain name=value pair looks like a credential, or None."""
    if CREDENTIAL_NAME.search(name):
        return f"its name {name} says credential"
    if URL_WITH_PASSWORD.search(value):
        return "its value is a URL with a password in it"
    for token in TOKEN.findall(value):
        if KNOWN_KEY_PREFIX.match(token):
            return "its value has the form of an API key"
        classes = sum(bool(re.search(c, token)) for c in ("[a-z]", "[A-Z]", "[0-9]"))
        if set(token) <= HEX and len(token) >= 32 and not BUILD_ID_NAME.search(name) and entropy(token) >= HEX_ENTROPY:
            return f"its value has a {len(token)}-character random hex string"
        if classes == 3 and entropy(token) >= HIGH_ENTROPY:
            return f"its value has a {len(token)}-character high-entropy string ({entropy(token):.1f} bits/char)"
    return None


# ------------------------------------------------------------------------------------------------
# Per-fact rules (resource policies: they see one resource before it is created)

def data_private(fact: Fact) -> Iterator[str]:
    if isinstance(fact, Datastore) and fact.public:
        yield f"{fact.subject} is reachable from the internet; keep it on private addresses only"


def data_encrypted(fact: Fact) -> Iterator[str]:
    if not isinstance(fact, Datastore):
        return
    if fact.at_rest is False:
        yield f"{fact.subject} is not encrypted at rest"
    if fact.in_transit is False:
        yield f"{fact.subject} accepts connections without TLS"


def data_backups(fact: Fact) -> Iterator[str]:
    if not isinstance(fact, Datastore) or fact.kind != "database":
        return
    if fact.backup_days is not None and fact.backup_days < MIN_BACKUP_DAYS:
        yield f"{fact.subject} keeps backups {fact.backup_days} day(s); at least {MIN_BACKUP_DAYS} are required"
    if fact.point_in_time_recovery is False:
        yield f"{fact.subject} has no point-in-time recovery"
    if fact.deletion_protection is False:
        yield f"{fact.subject} has no deletion protection"


def containers_hardened(fact: Fact) -> Iterator[str]:
    if not isinstance(fact, Container):
        return
    if fact.privileged:
        yield f"{fact.subject} is privileged"
    if fact.host_network:
        yield f"{fact.subject} shares the host's network"
    if fact.user is not None and fact.user.split(":")[0] in ROOT_USERS:
        yield f"{fact.subject} runs as root (set a non-root user)"
    if fact.serves and fact.probes is False:
        yield f"{fact.subject} takes traffic without health probes"
    if fact.limits is False:
        yield f"{fact.subject} has no resource limits"


def no_plaintext_secrets(fact: Fact) -> Iterator[str]:
    if isinstance(fact, Container):
        pairs, where = fact.plain_env, "as a plain environment value"
    elif isinstance(fact, PlainConfig):
        pairs, where = fact.values, "as plain configuration"
    else:
        return
    for name, value in sorted(pairs.items()):
        why = secret_looking(name, value)
        if why:
            yield f"{fact.subject} gets {name} {where} and {why}; pass it as a secret reference"


def log_retention(fact: Fact) -> Iterator[str]:
    if isinstance(fact, LogStore) and not fact.retention_days:
        yield f"{fact.subject} keeps logs forever; set a retention"


def images_pinned(fact: Fact) -> Iterator[str]:
    if isinstance(fact, ImageRef) and "@sha256:" not in fact.ref and not fact.ref.startswith("sha256:"):
        yield f"{fact.subject} {fact.ref!r} is not pinned by digest (…@sha256:<digest>)"


# ------------------------------------------------------------------------------------------------
# Stack rules (they join resources: a rule and the load balancer using it, alerts and their target)

def tls_only(fact: Fact) -> Iterator[str]:
    if isinstance(fact, Listener) and fact.public and not fact.tls:
        yield f"{fact.subject} is public without TLS: {fact.detail}"


def no_world_ingress(fact: Fact) -> Iterator[str]:
    if not isinstance(fact, Opening) or not fact.world:
        return
    ports = "every port" if -1 in fact.ports else "port(s) " + ", ".join(map(str, sorted(fact.ports)))
    if not fact.ports <= EDGE_PORTS:
        yield f"{fact.subject} opens {ports} to the internet; only the load balancer's 80 and 443 may be open"
    elif fact.on_load_balancer is False:
        yield f"{fact.subject} opens {ports} to the internet on something other than the load balancer"


def alerting(fact: Fact) -> Iterator[str]:
    if not isinstance(fact, Alerting):
        return
    if fact.alerts == 0:
        yield f"{fact.subject}: none; the stack has nothing that alerts"
    elif fact.notified == 0:
        yield f"{fact.subject}: {fact.alerts} alert(s) and no notification target (set berth:alerts.email)"


TARGETS = ("aws", "gcp", "kubernetes", "docker")


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: Callable[[Fact], Iterable[str]]
    gaps: dict[str, str] = field(default_factory=dict)  # target → why the rule has nothing to check there
    whole_stack: bool = False  # True: a stack policy over every resource, with property dependencies

    @property
    def covers(self) -> tuple[str, ...]:
        return tuple(t for t in TARGETS if t not in self.gaps)


LOCAL = "a local Docker engine has no such thing"
RULES = [
    Rule("berth-data-private", "No database or cache is reachable from the internet.", data_private),
    Rule("berth-data-encrypted", "Databases and caches are encrypted at rest and in transit.", data_encrypted,
         gaps={"docker": f"{LOCAL} (containers on one machine's bridge network)"}),
    Rule("berth-data-backups", f"Databases keep backups ≥ {MIN_BACKUP_DAYS} days, point-in-time recovery and "
         "deletion protection.", data_backups, gaps={"docker": f"{LOCAL} (a named volume, no managed backups)"}),
    Rule("berth-containers-hardened", "Containers run non-root and unprivileged, with health probes where they take "
         "traffic, and resource limits.", containers_hardened),
    Rule("berth-no-plaintext-secrets", "No secret-looking value (by name or entropy) in plain env or config.",
         no_plaintext_secrets,
         gaps={"docker": "env is Docker's only channel and berth's secret entries are Pulumi secrets in the same "
                         "list; the secret-leak scan of `plan --check` covers it"}),
    Rule("berth-log-retention", "Every log store has a retention.", log_retention,
         gaps={"gcp": "Cloud Logging always applies a retention (30 days unless a bucket sets one)",
               "kubernetes": "logs belong to the cluster's logging stack, not to the stack's manifests",
               "docker": f"{LOCAL} (logs go with the container)"}),
    Rule("berth-images-pinned", "Images are pinned by digest.", images_pinned),
    Rule("berth-tls-only", "Public listeners serve TLS (1.2+) only; plain HTTP only redirects.", tls_only,
         whole_stack=True),
    Rule("berth-no-world-ingress", "Nothing is open to the internet but the load balancer's 80/443.",
         no_world_ingress, whole_stack=True),
    Rule("berth-alerting", "The stack alerts, and its alerts reach a notification target.", alerting,
         gaps={"docker": "the local target has health checks only (design: no alerting)"}, whole_stack=True),
]
