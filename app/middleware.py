"""Pure-ASGI middleware: request id, body size limit, security headers, metrics, access log,
the per-worker bound on requests in flight (past it: 503 with Retry-After), and the last-resort
500 handler (so even crashes get the JSON error shape and a log line)."""

from __future__ import annotations

import json
import logging
import os
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_body
from app.metrics import ERRORS, LATENCY, REQUESTS, SHED

log = logging.getLogger("app.access")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Probes are polled every few seconds by every replica; log them only when they fail.
QUIET_PATHS = frozenset({"/liveness", "/readiness", "/health", "/metrics"})
# Never shed: an orchestrator that saw probes fail under load would restart a busy replica.
PROBE_PATHS = frozenset({"/liveness", "/readiness", "/health"})
# Any other method a client invents is one label value, not a new time series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'")


class BodyTooLarge(Exception):
    pass


def _security_headers(csp: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", csp.encode()),
        (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
    ]


API_HEADERS, DOCS_HEADERS = _security_headers(API_CSP), _security_headers(DOCS_CSP)


class _Observations(dict):
    """The labelled metric children per (method, endpoint, status), looked up once each."""

    def __missing__(self, key: tuple[str, str, str]):  # noqa: ANN204
        method, endpoint, status = key
        value = self[key] = (REQUESTS.labels(method, endpoint, status), LATENCY.labels(method, endpoint))
        return value


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, max_concurrent_requests: int,
                 docs_paths: frozenset[str] = frozenset()) -> None:
        self.app, self.max_body_bytes, self.docs_paths = app, max_body_bytes, docs_paths
        self.max_in_flight, self.in_flight = max_concurrent_requests, 0
        self._observations = _Observations()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        start = time.perf_counter()
        incoming_id, length = "", None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming_id = value.decode("latin-1")
            elif name == b"content-length":
                length = value
        request_id = incoming_id if _REQUEST_ID_RE.match(incoming_id) else os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        path, method = scope["path"], scope["method"]
        extra_headers = [(b"x-request-id", request_id.encode()),
                         *(DOCS_HEADERS if path in self.docs_paths else API_HEADERS)]
        status = 500
        started = False
        admitted = False

        too_large = False
        replaced = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started, replaced
            if too_large and not started:
                # The framework turned our read error into its own (400) response: send 413 instead.
                replaced = True
                await send_error(413, message=f"Request body exceeds {self.max_body_bytes} bytes")
                return
            if replaced:
                return
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", []), *extra_headers]
            await send(message)

        async def send_error(code: int, error: str | None = None, message: str | None = None,
                             headers: dict[bytes, bytes] | None = None) -> None:
            nonlocal status, started
            body = json.dumps(error_body(code, error, message, request_id)).encode()
            started, status = True, code
            await send({"type": "http.response.start", "status": code,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()), *(headers or {}).items(),
                                    *extra_headers]})
            await send({"type": "http.response.body", "body": body})

        received = 0

        async def receive_limited() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    raise BodyTooLarge
            return message

        try:
            if self.in_flight >= self.max_in_flight and path not in PROBE_PATHS:
                SHED.labels("in_flight").inc()
                await send_error(503, "overloaded", "The service is busy, retry shortly", {b"retry-after": b"1"})
            elif length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
                await send_error(413, message=f"Request body exceeds {self.max_body_bytes} bytes")
            else:
                admitted = True
                self.in_flight += 1
                await self.app(scope, receive_limited, send_wrapper)
        except BodyTooLarge:
            if not started:  # nothing was sent yet
                await send_error(413, message=f"Request body exceeds {self.max_body_bytes} bytes")
        except Exception:
            ERRORS.labels("unhandled").inc()
            log.exception("unhandled error", extra={"request_id": request_id, "path": path})
            if not started:
                await send_error(500, message="Internal server error")
        finally:
            self.in_flight -= admitted
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "<unmatched>"
            requests, latency = self._observations[method if method in METHODS else "OTHER", endpoint, str(status)]
            requests.inc()
            latency.observe(elapsed)
            level = logging.DEBUG if path in QUIET_PATHS and status < 400 else logging.INFO
            if log.isEnabledFor(level):
                client = scope.get("client")
                log.log(level, "request", extra={
                    "request_id": request_id, "method": method, "path": path, "endpoint": endpoint,
                    "status": status, "latency_ms": round(elapsed * 1000, 2),
                    "client": client[0] if client else None,
                })
