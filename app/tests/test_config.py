"""Settings from the environment, and the production guards (no services needed)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.config import Settings
from app.tests.conftest import run_cli

GOOD_PROD = {"ENVIRONMENT": "production", "SECRET_KEY": "k" * 48, "DATABASE_URL": "postgresql://u:p@db:5432/app",
             "REDIS_URL": "rediss://:tok@cache:6379/0", "ALLOWED_ORIGINS": "https://a.example, https://b.example"}


def test_defaults_and_env_parsing(monkeypatch) -> None:
    for key, value in GOOD_PROD.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "7")
    s = Settings()
    assert s.allowed_origins == ["https://a.example", "https://b.example"]
    assert s.rate_limit_per_minute == 7 and s.rate_limit_per_hour == 100 and s.port == 8000
    assert s.sqlalchemy_database_url == "postgresql+psycopg://u:p@db:5432/app"


@pytest.mark.parametrize("given, expected", [
    ("postgres://u:p@h:5432/d?sslmode=require", "postgresql+psycopg://u:p@h:5432/d?sslmode=require"),
    ("postgresql://u:p@h:5432/d?sslmode=require", "postgresql+psycopg://u:p@h:5432/d?sslmode=require"),
    ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
])
def test_database_url_is_mapped_to_psycopg3(given: str, expected: str) -> None:
    assert Settings(database_url=given).sqlalchemy_database_url == expected


def test_embedded_defaults_without_urls() -> None:
    s = Settings(_env_file=None, database_url="", redis_url="")
    assert s.sqlalchemy_database_url.startswith("sqlite:///") and s.redis_url is None


@pytest.mark.parametrize("override, named", [
    ({"SECRET_KEY": None}, "SECRET_KEY"),
    ({"SECRET_KEY": "short-key"}, "SECRET_KEY"),
    ({"ALLOWED_ORIGINS": "https://a.example,*"}, "ALLOWED_ORIGINS"),
    ({"DATABASE_URL": None}, "DATABASE_URL"),
    ({"REDIS_URL": None}, "REDIS_URL"),
    ({"FORWARDED_ALLOW_IPS": "*"}, "FORWARDED_ALLOW_IPS"),
    ({"FORWARDED_ALLOW_IPS": "10.0.0.0/16,*"}, "FORWARDED_ALLOW_IPS"),
])
def test_production_refuses_unsafe_settings(monkeypatch, override: dict, named: str) -> None:
    for key, value in {**GOOD_PROD, **override}.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError, match=named):
        Settings()


def test_cli_refuses_to_start_naming_the_setting_without_echoing_it() -> None:
    result = run_cli("migrate", env={**GOOD_PROD, "SECRET_KEY": "tiny-secret-value"})
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr
    assert "tiny-secret-value" not in result.stderr + result.stdout


def test_server_settings_from_the_environment(monkeypatch) -> None:
    for key, value in GOOD_PROD.items():
        monkeypatch.setenv(key, value)
    defaults = Settings()
    assert defaults.keepalive_seconds == 75 and defaults.forwarded_allow_ips == ["127.0.0.1", "::1"]
    monkeypatch.setenv("KEEPALIVE_SECONDS", "120")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/16, 192.168.1.7,fd00::/8")
    s = Settings()
    assert s.keepalive_seconds == 120 and s.forwarded_allow_ips == ["10.0.0.0/16", "192.168.1.7", "fd00::/8"]
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "")
    assert Settings().forwarded_allow_ips == []  # trust no proxy: the peer is the client


@pytest.mark.parametrize("value, named", [("10.0.0.1/16", "host bits set"), ("alb.internal", "alb.internal")])
def test_proxies_must_be_addresses_or_ranges(monkeypatch, value: str, named: str) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", value)
    with pytest.raises(ValidationError, match=named) as info:
        Settings()
    assert "FORWARDED_ALLOW_IPS" in str(info.value)


def test_development_may_trust_every_proxy(monkeypatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    assert Settings(environment="development").forwarded_allow_ips == ["*"]
