"""kubernetes: a web service is routed when an Ingress rule sends traffic to its Service."""

from infra.mocks import Run

SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def stack_config(tier: str) -> dict:
    # A registry for the image built from app/; prod serves TLS only, so it needs a domain.
    config = {"berth:kubernetes": {"registry": "registry.example.com/berth"}}
    if tier == "prod":
        config.update({"berth:domain": "api.berth-example.dev",
                       "berth:kubernetes": {"registry": "registry.example.com/berth",
                                            "backup_destination": "s3://berth-example-backups/prod"}})
    return config


def routed(run: Run) -> set[str]:
    """The services (by their component's name) whose Kubernetes Service an Ingress rule names."""
    by_name = {r.inputs["metadata"]["name"]: r.parent.rsplit("::", 1)[-1] for r in run.by_type(SERVICE)
               if r.parent.split("::")[2].endswith("berth:kubernetes:Workload")}
    backends = {path["backend"]["service"]["name"] for ingress in run.by_type(INGRESS)
                for rule in ingress.inputs["spec"].get("rules", []) for path in rule["http"]["paths"]}
    return {by_name[b] for b in backends if b in by_name}
