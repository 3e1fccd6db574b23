"""What every pod berth runs shares: the restricted Pod Security profile, a writable /tmp on a
read-only root filesystem, resources in Kubernetes units, and env from plain values and Secrets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

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


@dataclass(frozen=True)
class SecretFile:
    """One key of a Secret as a read-only file in a pod (a CA certificate the app trusts). Only
    that key is projected: a Secret that also holds a private key does not hand it to the pod."""

    volume: str
    secret: pulumi.Input[str]
    key: str
    directory: str

    @property
    def path(self) -> str:
        return f"{self.directory}/{self.key}"

    def volume_spec(self) -> dict[str, Any]:
        return {"name": self.volume, "secret": {"secretName": self.secret, "defaultMode": 0o444,
                                                "items": [{"key": self.key, "path": self.key}]}}

    def mount(self) -> dict[str, Any]:
        return {"name": self.volume, "mountPath": self.directory, "readOnly": True}


def volumes(files: Sequence[SecretFile]) -> list[dict[str, Any]]:
    """An app pod's volumes: its /tmp and the files it reads from Secrets."""
    return [TMP_VOLUME, *(f.volume_spec() for f in files)]


def mounts(files: Sequence[SecretFile]) -> list[dict[str, Any]]:
    return [TMP_MOUNT, *(f.mount() for f in files)]


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
