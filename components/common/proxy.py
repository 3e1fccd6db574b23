"""The env contract between a target and the proxy in front of the service (app/README.md).

Decided once for every target: the service believes `X-Forwarded-For` only from the proxies the
target puts in front of it, and keeps idle connections open longer than they do, or the proxy
reuses a connection the server just closed and answers 502.
"""

from __future__ import annotations

from typing import Sequence

# How much longer than the proxy's idle timeout the server keeps a connection open.
KEEPALIVE_MARGIN_SECONDS = 15


def proxy_env(trusted: Sequence[str], idle_timeout_seconds: int) -> dict[str, str]:
    """`FORWARDED_ALLOW_IPS` (the proxies' addresses or CIDR ranges, never `*`) and `KEEPALIVE_SECONDS`."""
    if not trusted or any(t.strip() in ("", "*") for t in trusted):
        raise ValueError(f"trusted proxies must be addresses or ranges, not {list(trusted)!r}")
    return {
        "FORWARDED_ALLOW_IPS": ",".join(trusted),
        "KEEPALIVE_SECONDS": str(idle_timeout_seconds + KEEPALIVE_MARGIN_SECONDS),
    }
