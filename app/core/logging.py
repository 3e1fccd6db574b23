"""JSON logs, one object per line, with PII and secrets masked.

Masked patterns (applied to every string field of a record):
- e-mail addresses            -> [email]
- phone numbers -> [phone]: international ``+CC ...`` (7-15 digits), North American
  ``555-123-4567`` / ``(555) 123-4567``, and national ``0`` + 9-10 digits (``07700900123``)
- employee numbers ``EMP-`` followed by 4-8 digits, e.g. EMP-123456 -> EMP-[redacted]
- JSON Web Tokens and ``Bearer`` credentials -> [token]
- the configured secrets (SECRET_KEY, OPENAI_API_KEY) -> [secret]
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterable
from typing import Any

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
EMPLOYEE_RE = re.compile(r"\bEMP-\d{4,8}\b", re.IGNORECASE)
PHONE_RE = re.compile(
    r"\+\d{1,3}[ .-]?(?:\(?\d{1,4}\)?[ .-]?){1,4}\d{2,4}(?![\w-])"  # international: +44 20 7946 0958
    r"|(?<![\w-])\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\w-])"  # North American: (555) 123-4567
    r"|(?<![\w.-])0\d{9,10}(?![\w.-])"  # national with trunk prefix: 07700900123
)
JWT_RE = re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*")
BEARER_RE = re.compile(r"(?i)\bbearer\s+\S+")

# Record attributes set by logging itself; everything else passed via extra= is emitted.
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}


IPV4_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# Fields the service writes itself (ids, timings, addresses): masking would only garble them.
_TRUSTED_FIELDS = frozenset({"ts", "level", "logger", "request_id", "method", "status", "latency_ms",
                             "client", "endpoint"})


def _phone(match: re.Match[str]) -> str:
    text = match.group()
    digits = sum(ch.isdigit() for ch in text)
    if 7 <= digits <= 15 and not IPV4_RE.match(text) and not DATE_RE.match(text):
        return "[phone]"
    return text


def mask(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[secret]")
    text = JWT_RE.sub("[token]", text)
    text = BEARER_RE.sub("Bearer [token]", text)
    text = EMAIL_RE.sub("[email]", text)
    text = EMPLOYEE_RE.sub("EMP-[redacted]", text)
    return PHONE_RE.sub(_phone, text)


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] | None = None) -> None:
        super().__init__()
        if secrets is None:  # e.g. built by gunicorn's logconfig_dict, before settings exist
            secrets = [os.environ.get("SECRET_KEY", ""), os.environ.get("OPENAI_API_KEY", "")]
        self.secrets = [s for s in secrets if s]

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return mask(value, self.secrets)
        if isinstance(value, (int, float, bool)) or value is None:
            return value
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._clean(v) for v in value]
        return mask(str(value), self.secrets)

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        clean = {k: v if k in _TRUSTED_FIELDS else self._clean(v) for k, v in payload.items()}
        return json.dumps(clean, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", secrets: Iterable[str] = (), stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Our middleware writes the access log; uvicorn's and gunicorn's would duplicate it.
    for name in ("uvicorn", "uvicorn.error", "gunicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for name in ("uvicorn.access", "gunicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = False
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
