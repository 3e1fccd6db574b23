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
    password: Optional[pulumi.Input[str]], host: pulumi.Input[str], port: pulumi.Input[int], tls: bool = False,
    ca_file: Optional[str] = None,
) -> pulumi.Output[str]:
    """`ca_file`: TLS, the server verified with the CA certificate at that path (redis-py's
    `ssl_ca_certs`, which `from_url` reads from the query)."""
    scheme = "rediss" if tls or ca_file else "redis"
    query = f"?ssl_ca_certs={ca_file}" if ca_file else ""
    if password is None:
        return pulumi.Output.secret(pulumi.Output.format("{0}://{1}:{2}/0{3}", scheme, host, port, query))
    return pulumi.Output.secret(pulumi.Output.format("{0}://:{1}@{2}:{3}/0{4}", scheme, password, host, port, query))
