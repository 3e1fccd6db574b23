"""One JSON error shape for every error: {"error": code, "message": text, "request_id": id}."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.metrics import SHED

_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "insufficient_permissions",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_body(status: int, code: str | None = None, message: str | None = None, request_id: str | None = None,
               **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "error": code or _CODES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_")),
        "message": message or HTTPStatus(status).phrase,
    }
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return body


def _request_id(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.status, exc.code, exc.message, _request_id(request)),
                            status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else None
        return JSONResponse(error_body(exc.status_code, None, message, _request_id(request)),
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Echo where and why, never the submitted value (it may hold a password or PII).
        details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                   for e in exc.errors()]
        return JSONResponse(error_body(422, "validation_error", "Request validation failed",
                                       _request_id(request), details=details), status_code=422)

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if not (isinstance(exc, OperationalError) or exc.connection_invalidated):
            raise exc
        request.app.state.db.outage.failure(exc.orig or exc)  # counted always, logged once per window
        return JSONResponse(error_body(503, "database_unavailable", "The database is unavailable, retry later",
                                       _request_id(request)), status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout) -> JSONResponse:
        SHED.labels("database_pool").inc()
        request.app.state.db.saturated.failure(exc)
        return JSONResponse(error_body(503, "overloaded", "The service is busy, retry shortly",
                                       _request_id(request)), status_code=503, headers={"Retry-After": "1"})
