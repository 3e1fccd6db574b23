"""Stack config → ServiceSpec: the tier's defaults, the stack's overrides, validated before any resource.

Reading order: `stacks/<tier>.yaml` supplies every default; `Pulumi.<stack>.yaml` (`berth:*` keys)
overrides them key by key. Upper-case keys (`berth:OPENAI_API_KEY`) are secret values and must be
set with `pulumi config set --secret`; everything else must be a known key.
"""

from __future__ import annotations

import contextvars
import json
import re
import types
import typing
from pathlib import Path
from typing import Any, Optional

import yaml
from pydantic import BaseModel, ValidationError

from infra import targets
from infra.errors import NAMESPACE, ConfigError, Problem, show
from infra.spec import (DOMAIN, PLACEHOLDER_DOMAIN, PREFIX, RESERVED_SERVICE_NAMES, SECRET_NAME,
                        ServiceSpec)

ROOT = Path(__file__).resolve().parent.parent
TIERS_DIR = ROOT / "stacks"

# The service's own contract (app/): the port it listens on unless a service says otherwise.
APP_PORT = 8000
DEFAULT_SERVICES = {"api": {"kind": "web"}}

# Keys a stack may set, beyond its target's own section.
KEYS = (
    "target", "tier", "services", "service_defaults", "image", "env", "secrets", "database",
    "cache", "alerts", "edge", "domain", "migrations", "log_retention_days",
)
# Built by berth itself from the database and cache it creates; a user value would be a second
# source of truth (and usually a plain-text password).
BUILT_SECRETS = ("DATABASE_URL", "REDIS_URL")
# Set by berth for every service; a user value would be ignored or would break the contract.
RESERVED_ENV = ("PORT", "ENVIRONMENT", "SECRET_KEY") + BUILT_SECRETS
# A plain env name that looks like a credential is a secret given in plain text: any word of it
# naming a secret (`DB_PASSWORD`, `GITHUB_TOKEN`), and any name ending in KEY (`STRIPE_KEY`).
SECRET_LOOKING = re.compile(
    r"(^|_)(SECRETS?|PASSWORDS?|PASSWD|PASS|PWD|TOKENS?|CREDENTIALS?|PRIVATE|SALT|PEPPER|DSN|AUTH|COOKIE|"
    r"SIGNING|APIKEY)(_|$)|(^|_)KEY$", re.I)

# Set while the offline plan runs the program (infra/mocks.py): what a real `pulumi up` would refuse
# because it only makes sense with a real cloud (a placeholder domain, an unset secret) is then a
# notice the plan prints, so the shipped examples still plan.
OFFLINE: contextvars.ContextVar[bool] = contextvars.ContextVar("berth_offline", default=False)
NOTICES: contextvars.ContextVar[Optional[list[str]]] = contextvars.ContextVar("berth_notices", default=None)
ALWAYS_SECRETS = ("SECRET_KEY",)  # generated when the stack sets none


class _StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; Pulumi's YAML reader refuses the file. So do we."""


def _no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise DuplicateKey(key, seen[key], line)
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


class DuplicateKey(ValueError):
    def __init__(self, key: Any, first: int, second: int):
        super().__init__(f"key {key!r} given twice (lines {first} and {second})")
        self.key, self.first, self.second = key, first, second


def load_yaml(path: Path) -> Any:
    """A stack or tier file, read as strictly as the engine reads it (no key given twice)."""
    try:
        return yaml.load(path.read_text(), Loader=_StrictLoader)
    except DuplicateKey as exc:
        raise ConfigError(path.name, [Problem(
            str(exc.key).removeprefix(f"{NAMESPACE}:"), f"each key once in {path.name} (the engine refuses duplicates)",
            f"'{exc.key}' twice, at lines {exc.first} and {exc.second}")]) from None


def tiers() -> list[str]:
    return sorted(p.stem for p in TIERS_DIR.glob("*.yaml"))


def load_tier(name: str) -> dict[str, Any]:
    return load_yaml(TIERS_DIR / f"{name}.yaml") or {}


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_value(raw: Any) -> Any:
    """Pulumi hands config over as strings; structured values arrive as JSON text."""
    if isinstance(raw, str) and raw[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


# ---------------------------------------------------------------------------------------------
# Turning pydantic's errors into "key: expected …, found …"


def _expected(err: dict[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    simple = {
        "missing": "a value",
        "int_parsing": "an integer", "int_type": "an integer", "int_from_float": "an integer",
        "float_parsing": "a number", "float_type": "a number",
        "bool_parsing": "true or false", "bool_type": "true or false",
        "string_type": "a string",
        "model_type": "a mapping", "model_attributes_type": "a mapping", "dict_type": "a mapping",
        "tuple_type": "a list", "list_type": "a list",
    }
    if kind in simple:
        return simple[kind]
    if kind == "literal_error":
        return f"one of {ctx.get('expected')}"
    bounds = {"greater_than_equal": ("≥", "ge"), "less_than_equal": ("≤", "le"),
              "greater_than": (">", "gt"), "less_than": ("<", "lt")}
    if kind in bounds:
        sign, key = bounds[kind]
        return f"a number {sign} {ctx.get(key)}"
    if kind == "string_pattern_mismatch":
        return f"a string matching {ctx.get('pattern')}"
    return err["msg"]


def _unwrap(annotation: Any) -> Any:
    """Optional[X] → X, so the model under a field can be found."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _known_keys(root: type[BaseModel], loc: tuple) -> Optional[list[str]]:
    """The keys the model at `loc` accepts, for an 'unknown key' message."""
    model: Any = root
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        ann = _unwrap(field.annotation)
        if typing.get_origin(ann) is dict:
            ann = typing.get_args(ann)[1]
            if parts:
                parts.pop(0)  # the dict's key (a service name)
        model = ann
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [k for k in model.model_fields if k != "name"]
    return None


def problems_from(exc: ValidationError, root: type[BaseModel], prefix: tuple = ()) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(str(p) for p in err["loc"])
        path = ".".join(prefix + loc)
        if err["type"] == "extra_forbidden":
            known = _known_keys(root, loc[:-1])
            expected = f"one of the keys {', '.join(known)}" if known else "no such key"
            out.append(Problem(path, expected, f"unknown key '{loc[-1]}'"))
        elif err["type"] == "value_error":
            # Our own validators phrase themselves as "<expected>, found <found>".
            msg = str(err["msg"]).removeprefix("Value error, ")
            expected, _, found = msg.partition(", found ")
            out.append(Problem(path, expected, found or show(err.get("input"))))
        else:
            out.append(Problem(path, _expected(err), show(err.get("input"))))
    return out


# ---------------------------------------------------------------------------------------------


def build_spec(
    values: dict[str, Any], secret_keys: set[str], *, project: str, stack: str, offline: Optional[bool] = None
) -> ServiceSpec:
    """Validate the stack's `berth:*` values (already without the namespace) into a ServiceSpec.

    Raises ConfigError listing every problem; declares nothing. `offline` (default: whether the
    offline plan is running) turns placeholders into notices instead of problems.
    """
    offline = OFFLINE.get() if offline is None else offline
    problems: list[Problem] = []
    placeholders: list[Problem] = []  # refused by a real run, noticed by the offline plan
    config = {k: parse_value(v) for k, v in values.items()}
    secret_values = {k for k in config if SECRET_NAME.match(k)}

    target = config.get("target")
    if target not in targets.TARGETS:
        problems.append(Problem("target", f"one of {', '.join(targets.TARGETS)}", show(target)))
    tier = config.get("tier")
    if tier not in tiers():
        problems.append(Problem("tier", f"one of {', '.join(tiers())}", show(tier)))
    for key in config:
        if key in secret_values or key in KEYS or key == target:
            continue
        if key in targets.TARGETS:
            problems.append(Problem(key, f"settings only for this stack's target ({target})",
                                    f"a section for target '{key}'"))
        else:
            problems.append(Problem(key, "a known key (see docs/config.md)", f"unknown key '{key}'"))
    prefix = f"{project}-{stack}"
    if not PREFIX.match(prefix):
        problems.append(Problem("stack", "a stack name that keeps '<project>-<stack>' to lowercase letters, digits"
                                " and single hyphens, ≤ 27 chars (it names resources on every cloud)", prefix))
    for key in sorted(config):
        # `pulumi config set --path --secret berth:env.X` makes the whole map a secret, and its
        # plain keys would reach the cloud as plain env: secrets have one place, berth:<NAME>.
        if key not in secret_values and f"{NAMESPACE}:{key}" in secret_keys:
            problems.append(Problem(key, f"plain values (a secret is listed in {NAMESPACE}:secrets and set as"
                                         f" {NAMESPACE}:<NAME> with --secret)", f"a secret value inside {NAMESPACE}:{key}"))
    if problems:
        raise ConfigError(stack, problems)

    merged = deep_merge(load_tier(tier), {k: v for k, v in config.items() if k not in secret_values})
    if "image" in config:  # build and ref exclude each other: a stack's image replaces the tier's
        merged["image"] = config["image"]
    target_mod = targets.load(target)

    # Secrets: names listed in berth:secrets, values in berth:<NAME> set with --secret.
    listed = merged.get("secrets") or []
    if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
        problems.append(Problem("secrets", "a list of secret names", show(listed)))
        listed = []
    for i, name in enumerate(listed):
        if not SECRET_NAME.match(name):
            problems.append(Problem(f"secrets[{i}]", "an UPPER_SNAKE_CASE name", show(name)))
        elif name in BUILT_SECRETS:
            problems.append(Problem(f"secrets[{i}]", f"a name other than {name} (berth builds it)", show(name)))
        elif name not in secret_values and name not in ALWAYS_SECRETS:
            problems.append(Problem(name, f"a secret value (pulumi config set --secret {name} <value>)", "nothing"))
    for name in sorted(secret_values):
        if name not in listed and name not in ALWAYS_SECRETS:
            problems.append(Problem(name, f"'{name}' listed in {NAMESPACE}:secrets", "a value for an unlisted secret"))
        elif f"{NAMESPACE}:{name}" not in secret_keys:
            problems.append(Problem(name, f"a secret (pulumi config set --secret {name} …)", "plain text"))

    env = _env_strings(merged.get("env") or {})
    services_cfg = merged["services"] if "services" in merged else DEFAULT_SERVICES
    if isinstance(env, dict):
        problems += _env_problems("env", env)
    if not isinstance(services_cfg, dict) or not services_cfg:
        problems.append(Problem("services", "a mapping of service name to settings, with at least one service",
                                show(services_cfg)))
        services_cfg = {}

    defaults = merged.get("service_defaults") or {}
    services: dict[str, Any] = {}
    for name, svc in services_cfg.items():
        if not isinstance(svc, dict):
            problems.append(Problem(f"services.{name}", "a mapping", show(svc)))
            continue
        if name in RESERVED_SERVICE_NAMES:
            problems.append(Problem(f"services.{name}", "a service name other than "
                                    f"{', '.join(RESERVED_SERVICE_NAMES)} (berth names its own resources so)", show(name)))
            continue
        if isinstance(svc.get("env"), dict):
            problems += _env_problems(f"services.{name}.env", svc["env"])
        full = deep_merge(defaults, svc)
        if isinstance(full.get("env"), dict):
            full["env"] = _env_strings(full["env"])
        if full.get("kind") == "web":
            full.setdefault("port", APP_PORT)
        services[name] = {**full, "name": name}

    domain = merged.get("domain")
    if domain is not None and not (isinstance(domain, str) and DOMAIN.match(domain)):
        problems.append(Problem("domain", "a DNS name like api.example.com", show(domain)))
    elif domain is not None and PLACEHOLDER_DOMAIN.search(domain):
        placeholders.append(Problem("domain", "a domain you own (example.com, .test, .invalid are reserved examples)",
                                    show(domain)))
    email = (merged.get("alerts") or {}).get("email") if isinstance(merged.get("alerts"), dict) else None
    if isinstance(email, str) and PLACEHOLDER_DOMAIN.search(email.rsplit("@", 1)[-1]):
        placeholders.append(Problem("alerts.email", "a mailbox someone reads (example.com, .test, .invalid are"
                                    " reserved examples)", show(email)))

    settings = None
    try:
        settings = target_mod.Settings.model_validate(merged.get(target) or {})
    except ValidationError as exc:
        problems += problems_from(exc, target_mod.Settings, (target,))

    doc = {
        "project": project, "stack": stack, "target": target, "tier": tier,
        "services": services, "image": merged.get("image"), "env": env,
        "secrets": tuple(dict.fromkeys([*ALWAYS_SECRETS, *listed])),
        "database": merged.get("database"), "cache": merged.get("cache"), "alerts": merged.get("alerts"),
        "edge": merged.get("edge"), "domain": domain, "migrations": merged.get("migrations") or {},
        "log_retention_days": merged.get("log_retention_days"),
    }
    spec = None
    try:
        spec = ServiceSpec.model_validate(doc)
    except ValidationError as exc:
        problems += problems_from(exc, ServiceSpec)
    if spec is not None and not problems:
        spec = spec.model_copy(update={"target_settings": settings})
        if spec.base_env["ENVIRONMENT"] == "production":
            # app/core/config.py refuses to start in production without them: the rollout would never turn healthy.
            for part, var in (("database", "DATABASE_URL"), ("cache", "REDIS_URL")):
                if not getattr(spec, part).enabled:
                    problems.append(Problem(f"{part}.enabled", f"true on a {spec.tier}-tier stack (the service "
                                            f"refuses to start in production without {var})", "false"))
        if spec.domain is not None and not spec.web_services:
            problems.append(Problem("domain", "a web service to serve it (every service here is a worker)",
                                    show(spec.domain)))
        problems += target_mod.check(spec)
        placeholders += getattr(target_mod, "placeholders", lambda _: [])(spec)
    if offline:
        notices = NOTICES.get()
        for p in placeholders:
            if notices is not None:
                notices.append(f"{p} (planned anyway offline; `pulumi up` refuses it)")
    else:
        problems += placeholders
    if problems:
        raise ConfigError(stack, problems)
    return spec


def _env_strings(env: Any) -> Any:
    """YAML reads `WORKERS: 4` as a number; a process environment holds strings."""
    if not isinstance(env, dict):
        return env
    def text(v: Any) -> Any:
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v) if isinstance(v, (int, float)) else v
    return {k: text(v) for k, v in env.items()}


def _env_problems(path: str, env: dict[str, Any]) -> list[Problem]:
    problems = []
    for name, value in env.items():
        if name in RESERVED_ENV:
            problems.append(Problem(f"{path}.{name}", "a name berth does not set itself", show(name)))
        elif SECRET_LOOKING.search(name):
            problems.append(Problem(
                f"{path}.{name}",
                f"a secret (list {name} in {NAMESPACE}:secrets, set it with pulumi config set --secret)",
                "a plain-text value"))
        elif not isinstance(value, (str, int, float, bool)):
            problems.append(Problem(f"{path}.{name}", "a string", show(value)))
    return problems


def from_pulumi() -> ServiceSpec:
    """The spec of the stack Pulumi is running now (under the CLI or under mocks)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    values = {k.split(":", 1)[1]: v for k, v in everything.items() if k.startswith(f"{NAMESPACE}:")}
    return build_spec(values, secret_keys, project=pulumi.get_project(), stack=pulumi.get_stack())
