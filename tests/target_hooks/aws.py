"""aws: a web service is routed when its ECS service is registered with an ALB target group."""

from infra.mocks import Run


def stack_config(tier: str) -> dict:
    config = {"aws:region": "us-east-1"}
    if tier == "prod":  # prod serves TLS only: a domain and a zone to validate its certificate in
        config.update({"berth:domain": "api.berth-example.dev", "berth:aws": {"zone_id": "Z0123456789ABCDEFGHIJ"}})
    return config


def routed(run: Run) -> set[str]:
    return {r.parent.rsplit("::", 1)[-1] for r in run.by_type("aws:ecs/service:Service") if r.inputs.get("loadBalancers")}
