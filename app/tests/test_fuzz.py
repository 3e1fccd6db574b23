"""Property-based fuzzing of the OpenAPI schema: no input may produce a 5xx.

Runs against real Postgres and Redis (so e.g. NUL bytes reach the real database driver),
authenticated as an admin so the deep paths are exercised. Bounded: 60 examples per operation.
"""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from app.main import create_app
from app.tests.conftest import add_user, make_settings


@pytest.fixture
def fuzz_app(migrated_pg: str, redis_url: str):  # noqa: ANN201
    settings = make_settings(database_url=migrated_pg, redis_url=redis_url,
                             rate_limit_per_minute=100_000, rate_limit_per_hour=1_000_000)
    app = create_app(settings)
    app.state.fuzz_token = add_user(settings, f"fuzz-{uuid.uuid4().hex[:8]}@example.test", "admin")
    return app


@pytest.fixture
def fuzz_schema(fuzz_app):  # noqa: ANN001, ANN201
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
@hypothesis_settings(max_examples=60, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))
def test_api_never_returns_5xx(case, fuzz_app) -> None:  # noqa: ANN001
    response = case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_app.state.fuzz_token}"},
                                      checks=[not_a_server_error])
    assert response.status_code < 500
