"""Property-based: any valid stack config plans on every target, as the engine would accept it.

Hypothesis generates stacks of 1–6 services of both kinds, with stack and service names up to the
longest that config accepts, on every tier, for each target that has a hook module in
tests/target_hooks/. Each must plan (the recorder refuses duplicate URNs and invalid or colliding
physical names), route every web service from its edge, and route no worker.

`make test` runs a fixed, derandomized budget; `HYPOTHESIS_PROFILE=explore` searches much wider.
"""

from __future__ import annotations

import importlib
import os
import pkgutil

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from infra import mocks, targets
from infra.config import tiers
from infra.spec import RESERVED_SERVICE_NAMES

import tests.target_hooks as hooks_pkg

# No shrinking in CI: a failing plan is reported at once (shrinking a plan takes minutes), with the
# stack that failed; `explore` shrinks it to the smallest one.
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate],
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("explore", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

HOOKS = {m.name: importlib.import_module(f"tests.target_hooks.{m.name}")
         for m in pkgutil.iter_modules(hooks_pkg.__path__)}

LONGEST_STACK = 27 - len(f"{mocks.PROJECT}-")  # spec.PREFIX: '<project>-<stack>' ≤ 27 chars


def _name(max_len: int) -> st.SearchStrategy[str]:
    """`[a-z](-?[a-z0-9])*` up to max_len, biased towards the longest names."""
    tail = st.lists(st.tuples(st.booleans(), st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789")),
                    max_size=max_len - 1)

    def build(first: str, parts: list[tuple[bool, str]]) -> str:
        name = first
        for hyphen, ch in parts:
            piece = ("-" if hyphen else "") + ch
            if len(name) + len(piece) > max_len:
                break
            name += piece
        return name

    longest = st.builds(lambda s: (s * max_len)[:max_len].strip("-"), st.sampled_from(["ab-c", "z9", "q-7x"]))
    return st.one_of(st.builds(build, st.sampled_from("abcdefghijklmnopqrstuvwxyz"), tail), longest)


service_names = _name(24).filter(lambda n: n not in RESERVED_SERVICE_NAMES)


@st.composite
def stacks(draw, target: str):
    tier = draw(st.sampled_from(tiers()))
    stack = draw(_name(LONGEST_STACK))
    names = draw(st.lists(service_names, min_size=1, max_size=6, unique=True))
    kinds = draw(st.lists(st.sampled_from(["web", "worker"]), min_size=len(names), max_size=len(names)))
    kinds[0] = "web"  # a stack with a domain needs a web service to serve it
    services = {}
    for name, kind in zip(names, kinds):
        svc = {"kind": kind}
        if kind == "worker" and draw(st.booleans()):
            svc["command"] = ["python", "-m", "app", "worker"]
        if draw(st.booleans()):  # a scaling range of its own
            low = draw(st.integers(1, 3))
            svc["scaling"] = {"min": low, "max": draw(st.integers(low, 12))}
        if draw(st.booleans()):
            svc["env"] = {"FEATURE_FLAGS": draw(st.sampled_from(["a", "a,b", ""]))}
        services[name] = svc
    config = {"berth:target": target, "berth:tier": tier, "berth:services": services,
              **HOOKS[target].stack_config(tier)}
    if tier != "prod":  # a dev stack may do without a database or a cache (prod requires both)
        for part in ("database", "cache"):
            if draw(st.booleans()):
                config[f"berth:{part}"] = {"enabled": False}
    if draw(st.booleans()):
        config["berth:migrations"] = {"enabled": False}
    return stack, config


@pytest.mark.parametrize("target", sorted(HOOKS))
def test_every_target_has_a_hook_and_every_hook_a_target(target):
    assert target in targets.TARGETS
    assert set(HOOKS) == set(targets.TARGETS), "each target needs tests/target_hooks/<target>.py"


@pytest.mark.parametrize("target", sorted(HOOKS))
def test_any_valid_stack_plans_with_unique_urns_and_routes_exactly_its_web_services(target):
    @settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(stacks(target))
    def check(case):
        stack, config = case
        run = mocks.run_program(stack, config)  # raises EngineError on duplicate URNs or bad names
        urns = [r.urn for r in run.records]
        assert len(urns) == len(set(urns))
        web = {n for n, s in config["berth:services"].items() if s["kind"] == "web"}
        assert HOOKS[target].routed(run) == web

    check()
