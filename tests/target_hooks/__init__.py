"""Per-target hooks for the property-based config test (tests/test_properties.py).

Each module `tests/target_hooks/<target>.py` defines:
- `stack_config(tier: str) -> dict`: the keys a valid stack of this target and tier needs beyond
  target, tier and services (provider config such as `aws:region`, `berth:domain`, `berth:<target>`).
- `routed(run) -> set[str]`: the names of the services the plan routes traffic to from its edge
  (load balancer rule, published port, Ingress rule, NEG…), read from the recorded resources.
"""
