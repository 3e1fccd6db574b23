"""What every pod berth runs shares: the restricted Pod Security profile, a writable /tmp on a
read-only root filesystem, resources in Kubernetes units, and env from plain values and Secrets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi

USER = 10001  # the image's unprivileged user (app/Dockerfile); Redis runs as it too
TMP_LIMIT = "256Mi"  # gunicorn heartbeats and the multiprocess metrics files


def pod_security() -> dict[str, Any]:
    """Pod-level settings the `restricted` Pod Security Standard requires, and a numeric user."""
    return {"runAsNonRoot": True, "runAsUser": USER, "runAsGroup": USER, "fsGroup": USER,
            "seccompProfile": {"type": "RuntimeDefault"}}


def container_security() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": USER, "runAsGroup": USER, "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}


TMP_VOLUME = {"name": "tmp", "emptyDir": {"sizeLimit": TMP_LIMIT}}
TMP_MOUNT = {"name": "tmp", "mountPath": "/tmp"}


def resources(cpu: float, memory_mib: int) -> dict[str, Any]:
    """Requests equal to limits: the Guaranteed QoS class, never evicted before best-effort pods."""
    amount = {"cpu": f"{round(cpu * 1000)}m", "memory": f"{memory_mib}Mi"}
    return {"requests": dict(amount), "limits": dict(amount)}


@dataclass(frozen=True)
class SecretRef:
    """An env var taken from a key of a Secret (the Secret's name may be known only at deploy time)."""

    secret: pulumi.Input[str]
    key: str


def env(plain: dict[str, str], secret: Optional[dict[str, SecretRef]] = None) -> list[dict[str, Any]]:
    """Plain values by name, secrets by `secretKeyRef` only: no secret value is ever in a pod spec."""
    out: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(plain.items())]
    for name, ref in sorted((secret or {}).items()):
        out.append({"name": name, "valueFrom": {"secretKeyRef": {"name": ref.secret, "key": ref.key}}})
    return out
