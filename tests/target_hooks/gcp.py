"""gcp: a web service is routed when the load balancer's URL map reaches a backend service whose
serverless NEG points at that service's Cloud Run service."""

from infra.mocks import Run, _short_hash


def stack_config(tier: str) -> dict:
    config = {
        "gcp:project": "berth-test-417203", "gcp:region": "europe-west1",
        # Cloud Run serves concurrent requests from 1 vCPU up.
        "berth:service_defaults": {"cpu": 1},
    }
    if tier == "prod":  # prod serves TLS only: a domain for its managed certificate
        config["berth:domain"] = "api.berth-example.dev"
    return config


def mock_id(record) -> str:
    """The id the mock runtime gives a resource: what other resources reference it by."""
    return f"{record.name}-{_short_hash(record.type, record.name, length=8)}"


def url_map_targets(run: Run) -> set[str]:
    """Backend service ids the serving URL map sends traffic to (not the HTTP → HTTPS redirect)."""
    out = set()
    for rec in run.by_type("gcp:compute/uRLMap:URLMap"):
        i = rec.inputs
        if "defaultService" in i:
            out.add(i["defaultService"])
        for matcher in i.get("pathMatchers") or []:
            out.add(matcher.get("defaultService"))
            out |= {rule["service"] for rule in matcher.get("routeRules") or []}
    return out - {None}


def routed(run: Run) -> set[str]:
    targets = url_map_targets(run)
    negs = {mock_id(r): r.inputs["cloudRun"]["service"]
            for r in run.by_type("gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup")}
    run_services = {negs[b["group"]] for r in run.by_type("gcp:compute/backendService:BackendService")
                    if mock_id(r) in targets for b in r.inputs.get("backends") or [] if b["group"] in negs}
    return {r.parent.rsplit("::", 1)[-1] for r in run.by_type("gcp:cloudrunv2/service:Service")
            if r.inputs["name"] in run_services}
