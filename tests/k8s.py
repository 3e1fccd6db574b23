"""Helpers for the kubernetes target's tests: stack configs, objects by kind, and CI-aware skips."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest

from infra.mocks import Record, Run, read_stack_config

IN_CI = os.environ.get("CI") == "true"
TIERS = {"dev": "k8s-dev", "prod": "k8s-prod"}

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
SERVICE = "kubernetes:core/v1:Service"
ACCOUNT = "kubernetes:core/v1:ServiceAccount"
SECRET = "kubernetes:core/v1:Secret"
CONFIGMAP = "kubernetes:core/v1:ConfigMap"
NAMESPACE = "kubernetes:core/v1:Namespace"
JOB = "kubernetes:batch/v1:Job"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster"
BACKUP = "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup"
RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
AM_CONFIG = "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"

TWO_AND_TWO = {
    "api": {"kind": "web"},
    "admin": {"kind": "web", "port": 8001},
    "worker": {"kind": "worker", "command": ["python", "-m", "app", "worker"]},
    "mailer": {"kind": "worker", "command": ["python", "-m", "app", "worker"], "cpu": 0.5, "memory": 1024},
}


def config(stack: str, **overrides: Any) -> dict[str, Any]:
    """A shipped stack's config with `berth:<key>` overridden (a value of None removes the key)."""
    out = copy.deepcopy(read_stack_config(stack))
    for key, value in overrides.items():
        if value is None:
            out.pop(f"berth:{key}", None)
        else:
            out[f"berth:{key}"] = value
    return out


def of(run: Run, typ: str, service: str) -> Record:
    """The object of this type that a service's component declared."""
    found = [r for r in run.by_type(typ) if r.parent.endswith(f"berth:kubernetes:Workload::{service}")]
    assert len(found) == 1, (typ, service, [r.name for r in found])
    return found[0]


def pod(run: Run, service: str) -> dict[str, Any]:
    return of(run, DEPLOYMENT, service).inputs["spec"]["template"]["spec"]


def container(run: Run, service: str) -> dict[str, Any]:
    containers = pod(run, service)["containers"]
    assert len(containers) == 1
    return containers[0]


def skip_or_fail(reason: str) -> None:
    """Skip with the reason here; under CI=true the check must run, so the test fails instead."""
    if IN_CI:
        pytest.fail(f"CI=true requires it: {reason}", pytrace=False)
    pytest.skip(reason)
