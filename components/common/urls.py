"""Connection URLs the service reads (DATABASE_URL, REDIS_URL), built as secrets from their parts."""

from __future__ import annotations

from typing import Optional

import pulumi


def postgres_url(
    user: pulumi.Input[str], password: pulumi.Input[str], host: pulumi.Input[str],
    port: pulumi.Input[int], database: str, sslmode: Optional[str] = None,
) -> pulumi.Output[str]:
    query = f"?sslmode={sslmode}" if sslmode else ""
    return pulumi.Output.secret(
        pulumi.Output.format("postgresql://{0}:{1}@{2}:{3}/{4}{5}", user, password, host, port, database, query)
    )


def redis_url(
    password: Optional[pulumi.Input[str]], host: pulumi.Input[str], port: pulumi.Input[int], tls: bool = False
) -> pulumi.Output[str]:
    scheme = "rediss" if tls else "redis"
    if password is None:
        return pulumi.Output.secret(pulumi.Output.format("{0}://{1}:{2}/0", scheme, host, port))
    return pulumi.Output.secret(pulumi.Output.format("{0}://:{1}@{2}:{3}/0", scheme, password, host, port))
