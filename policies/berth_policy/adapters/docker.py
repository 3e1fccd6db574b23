"""docker (pulumi-docker): containers, published ports and pulled images → facts.

What a local engine does not have, the adapter does not pretend: no managed backups, no storage
encryption, no log retention, no alerting. Plain env is the only way Docker hands a container a
value, and berth's secret entries are Pulumi secrets mixed into the same list, so the plain-env
rule does not apply here (the secret-leak scan of `plan --check` covers what reaches state).
"""

from __future__ import annotations

import ipaddress
from typing import Iterator

from berth_policy.facts import Container, Datastore, Fact, ImageRef, Listener, Opening, Resource
from berth_policy.props import at, is_map, items, num, truthy

PREFIX = "docker:"

CONTAINER = "docker:index/container:Container"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
DATA_ALIASES = {"database": "database", "cache": "cache"}


def _reachable_from_outside(ip: object) -> bool:
    """Docker publishes on every interface unless told an address."""
    if not ip:
        return True
    try:
        return not ipaddress.ip_address(str(ip)).is_loopback
    except ValueError:
        return True


def _container(r: Resource) -> Iterator[Fact]:
    p = r.props
    aliases = {a for n in items(p.get("networksAdvanced")) if is_map(n) for a in items(n.get("aliases"))}
    data = sorted(DATA_ALIASES[a] for a in aliases if a in DATA_ALIASES)
    ports = [port for port in items(p.get("ports")) if is_map(port)]
    outside = [port for port in ports if _reachable_from_outside(port.get("ip"))]
    tests = [str(t) for t in items(at(p, "healthcheck.tests"))]
    yield Container(
        r, f"container {p.get('name') or r.name}", image=p.get("image"),
        # The official postgres and redis images start as root to own their volume, then drop to
        # their own user: not the service's containers, whose user this rule is about.
        user=None if data else str(p.get("user") or ""),
        privileged=truthy(p.get("privileged")), host_network=p.get("networkMode") == "host",
        serves=bool(ports), probes=bool(tests) and tests != ["NONE"], limits=num(p.get("memory")) is not None,
    )
    for what in data:
        yield Datastore(r, f"the {what} container", what, public=bool(outside))
    for port in outside:
        external = num(port.get("external")) or num(port.get("internal"))
        yield Opening(r, f"published port {external}", world=True, ports=frozenset({external}),
                      on_load_balancer=False)
        if not data:
            yield Listener(r, f"published port {external}", public=True, tls=False,
                           detail="a plain HTTP port reachable beyond this machine")


def facts(resources: list[Resource], whole_stack: bool) -> Iterator[Fact]:
    for r in resources:
        if r.type == CONTAINER:
            yield from _container(r)
        elif r.type == REMOTE_IMAGE:
            yield ImageRef(r, "the pulled image", ref=str(r.props.get("name")))
