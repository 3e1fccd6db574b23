"""The FastAPI application factory; servers load it as ``app.main:create_app()``."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import answers, errors
from app.api.routes import api, health, users
from app.core.config import Settings, get_settings
from app.core.logging import configure_logging
from app.core.security import TokenVerifier
from app.db import Database
from app.health import HealthChecker
from app.middleware import RequestContextMiddleware
from app.ratelimit import RateLimiter
from app.store import Store
from app.users import Authorizations

log = logging.getLogger("app")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.secrets)
    docs = settings.environment == "development"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Everything loaded so far lives as long as the process: keep it out of every collection, so
        # a full collection under load scans only what requests allocate (shorter pauses, lower p99).
        gc.collect()
        gc.freeze()
        log.info("starting", extra={"version": settings.app_version, "environment": settings.environment,
                                    "database": app.state.db.engine.dialect.name, "cache": app.state.store.backend})
        question_log = asyncio.create_task(app.state.questions.run())
        yield
        question_log.cancel()
        await asyncio.gather(question_log, return_exceptions=True)
        await app.state.http.aclose()
        await app.state.store.close()
        await app.state.db.dispose()
        log.info("stopped")

    app = FastAPI(
        title="berth",
        version=settings.app_version,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.tokens = TokenVerifier(settings.secret_key)
    app.state.db = Database(settings)
    app.state.store = Store(settings.redis_url, settings.cache_timeout_seconds, settings.breaker_seconds)
    app.state.limiter = RateLimiter(app.state.store, settings.rate_limit_per_minute, settings.rate_limit_per_hour)
    app.state.auth = Authorizations(app.state.store, app.state.db, settings.auth_cache_seconds)
    app.state.health = HealthChecker(settings, app.state.db, app.state.store)
    app.state.questions = answers.QuestionLog(app.state.store)
    app.state.http = httpx.AsyncClient()

    errors.install(app)
    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(users.router)

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
                       max_concurrent_requests=settings.max_concurrent_requests,
                       docs_paths=frozenset({"/docs"} if docs else ()))
    return app

