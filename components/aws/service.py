"""One service of the spec on Fargate: its roles, logs, task definition, ECS service and scaling.

A rollout that fails its health checks is rolled back by the circuit breaker, and
`wait_for_steady_state` makes `pulumi up` fail with it, instead of reporting success: the provider
(terraform-provider-aws ≥ 6.5, pulumi-aws ≥ 7.5, see requirements.txt) waits on the service
deployment's own status and fails on ROLLBACK_SUCCESSFUL, for services whose deployment controller
is ECS — stated below rather than left to AWS's default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.aws import FARGATE_CPU
from components.aws.iam import assume_role_policy
from components.aws.names import UNIQUE_SUFFIX, name_prefix
from infra.spec import Service

USER = "10001:10001"  # the image's unprivileged user
MIGRATE = "migrate"


def role_prefix(full: str, role: str) -> str:
    """`<prefix>-<service>-<role>-`, cut to what IAM's 64 characters leave for the provider's suffix."""
    return name_prefix(f"{full}-{role}-", 64 - UNIQUE_SUFFIX)


def execution_policy(log_group_arn: pulumi.Input[str], secret_arns: Sequence[pulumi.Input[str]],
                     repository_arns: Sequence[pulumi.Input[str]]) -> pulumi.Output[str]:
    """What ECS needs to start the task: pull the image, write its logs, read exactly its secrets."""
    statements: list[dict[str, Any]] = [
        # GetAuthorizationToken has no resource to scope to.
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "EcrPull", "Effect": "Allow",
         "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
         "Resource": list(repository_arns)},
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         # The documented form: the group and every stream in it (CreateLogStream acts on the group).
         "Resource": pulumi.Output.concat(log_group_arn, ":*")},
    ]
    if secret_arns:
        statements.append({"Sid": "Secrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                           "Resource": list(secret_arns)})
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


@dataclass
class FargateServiceArgs:
    prefix: str
    service: Service
    cluster_arn: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    image: pulumi.Input[str]
    region: pulumi.Input[str]
    env: dict[str, pulumi.Input[str]]
    secret_arns: dict[str, pulumi.Input[str]]
    repository_arns: Sequence[pulumi.Input[str]]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    log_retention_days: int
    migrations: Optional[Sequence[str]]  # the command, when this task must migrate before it serves
    scale_in_cooldown: int
    scale_out_cooldown: int
    target_group: Optional[aws.lb.TargetGroup] = None
    alb_arn_suffix: Optional[pulumi.Input[str]] = None
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


def container_definitions(args: FargateServiceArgs, log_group: pulumi.Input[str]) -> list[dict[str, Any]]:
    svc = args.service
    env = {**args.env, **svc.env, **({"PORT": str(svc.port)} if svc.port else {})}
    environment = [{"name": k, "value": v} for k, v in sorted(env.items())]
    secrets = [{"name": k, "valueFrom": arn} for k, arn in sorted(args.secret_arns.items())]

    def hardened(name: str, essential: bool) -> dict[str, Any]:
        return {
            "name": name, "image": args.image, "essential": essential,
            "environment": environment, "secrets": secrets,
            "user": USER, "readonlyRootFilesystem": True,
            "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],
            "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": log_group, "awslogs-region": args.region, "awslogs-stream-prefix": name,
                "mode": "non-blocking", "max-buffer-size": "4m"}},
        }

    app = hardened(svc.name, True)
    if svc.command:
        app["command"] = list(svc.command)
    app["stopTimeout"] = 30  # SIGTERM first: in-flight requests finish
    if svc.is_web:
        live, start = svc.probes.liveness, svc.probes.startup
        url = f"http://127.0.0.1:{svc.port}{live.path}"
        app["portMappings"] = [{"containerPort": svc.port, "protocol": "tcp"}]
        app["healthCheck"] = {
            # The slim image has no curl; python is always there.
            "command": ["CMD", "python", "-c",
                        f"import urllib.request; urllib.request.urlopen('{url}', timeout={live.timeout_seconds})"],
            "interval": live.period_seconds, "timeout": live.timeout_seconds,
            "retries": live.failure_threshold, "startPeriod": start.budget_seconds,
        }
    containers = [app]
    if args.migrations:
        # Runs to completion before the app container starts; a failed migration fails the task,
        # so the new version never takes traffic and the circuit breaker rolls back.
        migrate = hardened(MIGRATE, False)
        migrate["command"] = list(args.migrations)
        app["dependsOn"] = [{"containerName": MIGRATE, "condition": "SUCCESS"}]
        containers.append(migrate)
    return containers


class FargateService(pulumi.ComponentResource):
    service: aws.ecs.Service
    task_definition: aws.ecs.TaskDefinition
    execution_policy: pulumi.Output[str]

    def __init__(self, name: str, args: FargateServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:aws:FargateService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        svc = args.service
        full = f"{args.prefix}-{svc.name}"

        account = aws.get_caller_identity_output().account_id
        logs = aws.cloudwatch.LogGroup(f"{svc.name}-logs", name=f"/berth/{args.prefix}/{svc.name}",
                                       retention_in_days=args.log_retention_days, opts=child)
        # IAM names are account-wide and a replaced role must not collide with the old one: a
        # prefix the provider completes (≤ 38 characters before its 26-character suffix).
        execution = aws.iam.Role(f"{svc.name}-execution", name_prefix=role_prefix(full, "execution"),
                                 assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com", account), opts=child)
        self.execution_policy = execution_policy(logs.arn, list(args.secret_arns.values()), args.repository_arns)
        execution_grant = aws.iam.RolePolicy(f"{svc.name}-execution", role=execution.id, policy=self.execution_policy, opts=child)
        # The app calls no AWS API: its task role carries no policy at all.
        task_role = aws.iam.Role(f"{svc.name}-task", name_prefix=role_prefix(full, "task"),
                                 assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com", account), opts=child)

        self.task_definition = aws.ecs.TaskDefinition(
            f"{svc.name}-task", family=full, network_mode="awsvpc", requires_compatibilities=["FARGATE"],
            cpu=str(FARGATE_CPU[svc.cpu]), memory=str(svc.memory),
            execution_role_arn=execution.arn, task_role_arn=task_role.arn,
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            volumes=[{"name": "tmp"}],  # the one writable path: task-local scratch space
            container_definitions=pulumi.Output.json_dumps(container_definitions(args, logs.name)),
            opts=child)

        load_balancers, grace = None, None
        if svc.is_web and args.target_group is not None:
            load_balancers = [{"target_group_arn": args.target_group.arn, "container_name": svc.name,
                               "container_port": svc.port}]
            grace = svc.probes.startup.budget_seconds  # the ALB waits as long as the startup probe may
        self.service = aws.ecs.Service(
            f"{svc.name}-service", name=full, cluster=args.cluster_arn, task_definition=self.task_definition.arn,
            desired_count=svc.scaling.min, launch_type="FARGATE", platform_version="LATEST",
            network_configuration={"subnets": list(args.subnet_ids), "security_groups": [args.security_group_id],
                                   "assign_public_ip": False},
            load_balancers=load_balancers, health_check_grace_period_seconds=grace,
            deployment_controller={"type": "ECS"},  # the controller whose rollbacks fail the update
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100, deployment_maximum_percent=200,
            wait_for_steady_state=True,
            propagate_tags="SERVICE", enable_ecs_managed_tags=True, enable_execute_command=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[execution_grant, *args.depends_on],
                                        ignore_changes=["desiredCount"]))  # autoscaling owns the count

        target = aws.appautoscaling.Target(
            f"{svc.name}-scaling", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", args.cluster_name, "/", self.service.name),
            min_capacity=svc.scaling.min, max_capacity=svc.scaling.max, opts=child)
        self._policy("cpu", target, {"predefined_metric_type": "ECSServiceAverageCPUUtilization"},
                     svc.scaling.cpu_target, args)
        if svc.is_web and args.target_group is not None and svc.scaling.requests_per_target:
            self._policy("requests", target, {
                "predefined_metric_type": "ALBRequestCountPerTarget",
                "resource_label": pulumi.Output.concat(args.alb_arn_suffix, "/", args.target_group.arn_suffix),
            }, svc.scaling.requests_per_target, args)
        self.register_outputs({"service": self.service.name})

    def _policy(self, kind: str, target: aws.appautoscaling.Target, metric: dict, value: float,
                args: FargateServiceArgs) -> None:
        aws.appautoscaling.Policy(
            f"{args.service.name}-{kind}", name=f"{args.prefix}-{args.service.name}-{kind}", policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace, scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration={
                "predefined_metric_specification": metric, "target_value": value,
                "scale_in_cooldown": args.scale_in_cooldown, "scale_out_cooldown": args.scale_out_cooldown,
            },
            opts=pulumi.ResourceOptions(parent=self))
