"""Settings, read from the environment (the contract with the infrastructure)."""

from __future__ import annotations

import ipaddress
import sys
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

APP_DIR = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"
MIN_SECRET_KEY_LENGTH = 32


def sqlalchemy_url(url: str) -> str:
    """Map the URLs cloud providers hand out onto the psycopg 3 driver (sync and async alike)."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+asyncpg://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _split(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: Literal["development", "production"] = "development"
    port: int = Field(8000, ge=1, le=65535)
    log_level: str = "INFO"

    # Unset means the embedded defaults: SQLite next to the package, in-process cache/limiter.
    database_url: str | None = None
    redis_url: str | None = None

    secret_key: str = DEFAULT_SECRET_KEY
    token_expire_minutes: int = 60 * 24
    allowed_origins: Annotated[list[str], NoDecode] = []

    rate_limit_per_minute: int = Field(10, ge=1)
    rate_limit_per_hour: int = Field(100, ge=1)
    max_body_bytes: int = Field(64 * 1024, ge=1024)

    openai_api_key: str | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-4o-mini"
    openai_timeout_seconds: float = 15.0

    cache_ttl_seconds: int = 3600
    health_cache_seconds: float = 1.5

    # The server (gunicorn_conf.py, `python -m app serve`).
    web_concurrency: int = Field(2, ge=1)
    graceful_timeout: int = Field(30, ge=1)
    # Must outlast the load balancer's idle timeout (ALB: 60 s), or it reuses closed connections (502).
    keepalive_seconds: int = Field(75, ge=1)
    # Proxies whose X-Forwarded-For is believed: IPs and CIDR ranges, never "*" in production.
    forwarded_allow_ips: Annotated[list[str], NoDecode] = ["127.0.0.1", "::1"]

    # Capacity and failure handling, per worker process.
    max_concurrent_requests: int = Field(512, ge=1)
    db_pool_size: int = Field(10, ge=1)
    db_pool_timeout_seconds: float = Field(2.0, gt=0)
    db_connect_timeout_seconds: int = Field(2, ge=1)
    cache_timeout_seconds: float = Field(0.25, gt=0)
    breaker_seconds: float = Field(5.0, gt=0)
    auth_cache_seconds: int = Field(300, ge=1)

    app_version: str = "0.0.0-dev"
    git_sha: str = "unknown"
    build_date: str = "unknown"

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        return _split(value)

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        return _split(value)

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies_are_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry)  # strict: 10.0.0.1/16 is a typo for 10.0.0.0/16
            except ValueError as exc:
                raise ValueError(f"FORWARDED_ALLOW_IPS: expected IP addresses or CIDR ranges, found {entry!r} "
                                 f"({exc})") from None
        return value

    @field_validator("openai_api_key", "database_url", "redis_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _production_guards(self) -> Settings:
        if self.environment != "production":
            return self
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(
                f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_KEY_LENGTH} "
                "characters when ENVIRONMENT=production"
            )
        if any("*" in origin for origin in self.allowed_origins):
            raise ValueError("ALLOWED_ORIGINS must not contain a wildcard when ENVIRONMENT=production")
        if "*" in self.forwarded_allow_ips:
            raise ValueError("FORWARDED_ALLOW_IPS must list the proxies' addresses or CIDR ranges, not '*', "
                             "when ENVIRONMENT=production (with '*' any client picks its own address "
                             "and rate-limit budget)")
        # Per-replica SQLite or in-process limits would silently lose data and limits.
        if not self.database_url:
            raise ValueError("DATABASE_URL must be set when ENVIRONMENT=production")
        if not self.redis_url:
            raise ValueError("REDIS_URL must be set when ENVIRONMENT=production")
        return self

    @property
    def sqlalchemy_database_url(self) -> str:
        if self.database_url:
            return sqlalchemy_url(self.database_url)
        return f"sqlite:///{APP_DIR / 'berth.db'}"

    @property
    def async_database_url(self) -> str:
        url = self.sqlalchemy_database_url
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://") if url.startswith("sqlite://") else url

    @property
    def is_postgres(self) -> bool:
        return self.sqlalchemy_database_url.startswith("postgresql")

    @property
    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        return [s for s in (self.secret_key, self.openai_api_key) if s]


def describe(error: ValidationError) -> str:
    """One line naming each bad setting, never echoing a value."""
    return "; ".join(str(e["msg"]).removeprefix("Value error, ")
                     + (f" ({'.'.join(map(str, e['loc']))})" if e["loc"] else "")
                     for e in error.errors())


def load_settings() -> Settings:
    """Settings for a process entry point (CLI, gunicorn): a bad value exits 2 with one clear line."""
    try:
        return Settings()
    except ValidationError as exc:
        print(f"error: invalid configuration: {describe(exc)}", file=sys.stderr)
        raise SystemExit(2) from None


@lru_cache
def get_settings() -> Settings:
    return Settings()
