"""docker: a web service is routed when its container publishes a port on the host."""

from infra.mocks import Run


def stack_config(tier: str) -> dict:
    return {}


def routed(run: Run) -> set[str]:
    return {r.parent.rsplit("::", 1)[-1] for r in run.by_type("docker:index/container:Container")
            if r.inputs.get("ports") and r.parent.split("::")[2].endswith("berth:docker:Service")}
