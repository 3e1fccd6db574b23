"""The FastAPI application factory; servers load it as ``app.main:create_app()``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import errors
from app.api.routes import api, health
from app.core.config import Settings, get_settings
from app.core.logging import configure_logging
from app.db import Database
from app.health import HealthChecker
from app.middleware import RequestContextMiddleware
from app.store import Store

log = logging.getLogger("app")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.secrets)
    docs = settings.environment == "development"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("starting", extra={"version": settings.app_version, "environment": settings.environment,
                                    "database": app.state.db.engine.dialect.name, "cache": app.state.store.backend})
        yield
        app.state.store.close()
        app.state.db.dispose()
        log.info("stopped")

    app = FastAPI(
        title="berth",
        version=settings.app_version,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = Database(settings)
    app.state.store = Store(settings.redis_url, settings.dependency_timeout_seconds)
    app.state.health = HealthChecker(settings, app.state.db, app.state.store)

    errors.install(app)
    app.include_router(health.router)
    app.include_router(api.router)

    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    # Outermost, so CORS preflights, 413s and crashes are all logged, counted and headed.
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes,
                       docs_paths=frozenset({"/docs"} if docs else ()))
    return app

