"""Probes and service metadata. None of these are rate limited or need a token."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app import metrics
from app.api.deps import SettingsDep
from app.errors import error_body

router = APIRouter(tags=["service"])


@router.get("/liveness")
async def liveness() -> dict[str, str]:
    """The process is up and serving. Touches no dependency, on purpose."""
    return {"status": "alive"}


@router.get("/readiness", responses={503: {"description": "Database or Redis unreachable"}})
async def readiness(request: Request) -> JSONResponse:
    checks = await request.app.state.health.checks()  # fresh: no I/O and no thread hop
    deps = {k: checks[k] for k in ("database", "cache")}
    failed = [name for name, value in deps.items() if value != "ok"]
    if failed:
        body = error_body(503, "not_ready", f"Unreachable: {', '.join(failed)}",
                          request.scope["state"].get("request_id"), failed=failed, checks=deps)
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready", "checks": deps})


@router.get("/health", responses={503: {"description": "A check failed"}})
async def health(request: Request) -> JSONResponse:
    body = await request.app.state.health.health()
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)


@router.get("/metrics", response_class=Response)
async def metrics_endpoint() -> Response:
    payload, content_type = metrics.render()
    return Response(payload, media_type=content_type)


@router.get("/version")
async def version(settings: SettingsDep) -> dict[str, str]:
    return {"version": settings.app_version, "git_sha": settings.git_sha, "build_date": settings.build_date}


@router.get("/")
async def root(settings: SettingsDep) -> dict[str, object]:
    return {
        "name": "berth",
        "description": "Answers questions from an FAQ (or an OpenAI-compatible model) and collects feedback",
        "version": settings.app_version,
        "environment": settings.environment,
        "endpoints": ["/api/ask", "/api/feedback", "/api/feedback/detailed", "/api/login", "/api/users/{user_id}",
                      "/liveness", "/readiness", "/health", "/metrics", "/version"],
    }
