"""One service of the spec on Kubernetes: its ServiceAccount, Deployment, Service (web),
HorizontalPodAutoscaler, PodDisruptionBudget (more than one replica) and NetworkPolicy.

Pulumi waits for each Deployment's rollout: a rollout that makes no progress within
`progressDeadlineSeconds` fails `pulumi up` (Kubernetes keeps the old pods serving, since no old
pod goes before a new one is ready: maxUnavailable 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.names import labels, object_name, selector
from components.kubernetes.network import Peer, egress_rules, from_namespace
from components.kubernetes.pods import (SecretFile, SecretRef, container_security, env, mounts, pod_security,
                                        resources, volumes)
from infra.spec import Probe, Service

PORT_NAME = "http"
ZONE = "topology.kubernetes.io/zone"
HOSTNAME = "kubernetes.io/hostname"


@dataclass
class WorkloadArgs:
    prefix: str
    namespace: pulumi.Input[str]
    service: Service
    image: pulumi.Input[str]
    env: dict[str, str]  # plain
    secrets: dict[str, SecretRef]
    image_pull_secrets: Sequence[str]
    spread: bool
    prestop_seconds: int
    termination_grace_seconds: int
    progress_deadline_seconds: int
    ingress_namespace: str
    monitoring_namespace: str
    dns_namespace: str
    peers: list[Peer]  # the database and cache, where the stack has them
    https_cidrs: tuple[str, ...]
    files: Sequence[SecretFile] = ()  # the CA certificates of the database and cache
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


def http_probe(probe: Probe) -> dict[str, Any]:
    return {"httpGet": {"path": probe.path, "port": PORT_NAME}, "periodSeconds": probe.period_seconds,
            "timeoutSeconds": probe.timeout_seconds, "failureThreshold": probe.failure_threshold}


def spread(match: dict[str, str]) -> list[dict[str, Any]]:
    """One replica per node at most ahead of the others (hard); zones balanced where the cluster has
    them (soft, so a one-zone cluster still schedules). Per ReplicaSet, so a rollout spreads too."""
    def constraint(key: str, when: str) -> dict[str, Any]:
        return {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": when,
                "labelSelector": {"matchLabels": match}, "matchLabelKeys": ["pod-template-hash"]}
    return [constraint(HOSTNAME, "DoNotSchedule"), constraint(ZONE, "ScheduleAnyway")]


class Workload(pulumi.ComponentResource):
    deployment: k8s.apps.v1.Deployment
    service: Optional[k8s.core.v1.Service]
    name: str  # the Kubernetes name of its Deployment (and Service)

    def __init__(self, name: str, args: WorkloadArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:kubernetes:Workload", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        svc = args.service
        component = "web" if svc.is_web else "worker"
        self.name = object_name(args.prefix, svc.name)
        meta = {"name": self.name, "namespace": args.namespace, "labels": labels(args.prefix, svc.name, component)}
        match = selector(args.prefix, svc.name)

        account = k8s.core.v1.ServiceAccount(
            svc.name, metadata=meta, automount_service_account_token=False,
            image_pull_secrets=[{"name": s} for s in args.image_pull_secrets] or None, opts=child)

        container: dict[str, Any] = {
            "name": svc.name, "image": args.image, "imagePullPolicy": "Always",
            "env": env({**args.env, **svc.env, **({"PORT": str(svc.port)} if svc.port else {})}, args.secrets),
            "resources": resources(svc.cpu, svc.memory),
            "securityContext": container_security(),
            "volumeMounts": mounts(args.files),
        }
        if svc.command:
            container["command"] = list(svc.command)
        if svc.is_web:
            container["ports"] = [{"name": PORT_NAME, "containerPort": svc.port, "protocol": "TCP"}]
            container["startupProbe"] = http_probe(svc.probes.startup)
            container["livenessProbe"] = http_probe(svc.probes.liveness)
            container["readinessProbe"] = http_probe(svc.probes.readiness)
            # The ingress controller keeps sending until it sees the endpoint go; SIGTERM comes after.
            container["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", str(args.prestop_seconds)]}}}
        pod: dict[str, Any] = {
            "serviceAccountName": account.metadata["name"], "automountServiceAccountToken": False,
            "enableServiceLinks": False,  # no <SERVICE>_PORT variables to clash with the app's env
            "securityContext": pod_security(), "containers": [container], "volumes": volumes(args.files),
            "terminationGracePeriodSeconds": args.termination_grace_seconds,
        }
        if args.spread:
            pod["topologySpreadConstraints"] = spread(match)
        self.deployment = k8s.apps.v1.Deployment(
            svc.name, metadata=meta,
            spec={
                "replicas": svc.scaling.min, "selector": {"matchLabels": match},
                "progressDeadlineSeconds": args.progress_deadline_seconds, "revisionHistoryLimit": 5,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
                "template": {"metadata": {"labels": meta["labels"]}, "spec": pod},
            },
            # The autoscaler owns the replica count after the first rollout.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on),
                                        ignore_changes=["spec.replicas"]))

        self.service = None
        if svc.is_web:
            self.service = k8s.core.v1.Service(
                svc.name, metadata=meta,
                spec={"type": "ClusterIP", "selector": match,
                      "ports": [{"name": PORT_NAME, "port": svc.port, "targetPort": PORT_NAME, "protocol": "TCP"}]},
                opts=child)

        target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": self.deployment.metadata["name"]}
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            svc.name, metadata=meta,
            spec={"scaleTargetRef": target, "minReplicas": svc.scaling.min, "maxReplicas": svc.scaling.max,
                  "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                      "type": "Utilization", "averageUtilization": svc.scaling.cpu_target}}}]},
            opts=child)
        if svc.scaling.min > 1:
            k8s.policy.v1.PodDisruptionBudget(
                svc.name, metadata=meta,
                spec={"maxUnavailable": 1, "selector": {"matchLabels": match},
                      "unhealthyPodEvictionPolicy": "AlwaysAllow"},  # a crash-looping pod never blocks a drain
                opts=child)

        ingress = []
        if svc.is_web:
            # The ingress controller on the service port; Prometheus on /metrics, served on the same port.
            ingress = [from_namespace(args.ingress_namespace, svc.port),
                       from_namespace(args.monitoring_namespace, svc.port)]
        k8s.networking.v1.NetworkPolicy(
            svc.name, metadata=meta,
            spec={"podSelector": {"matchLabels": match}, "policyTypes": ["Ingress", "Egress"],
                  "ingress": ingress,
                  "egress": egress_rules(args.dns_namespace, args.peers, args.https_cidrs)},
            opts=child)
        self.register_outputs({"deployment": self.deployment.metadata["name"]})
