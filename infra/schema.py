"""`python -m infra schema`: a JSON Schema of a `Pulumi.<stack>.yaml`'s `berth:*` keys, generated from
the pydantic models the config is validated with (infra/spec.py and every target's `Settings`).

A stack file overrides its tier key by key, so every mapping in it is partial: the schema keeps
each key's type, range, pattern and allowed values, and drops "required" (except a service's
`kind`, which no tier supplies). What only a validator can say (min ≤ max, a target's own sizes)
stays with `python -m infra plan`. Editors read the committed copy, docs/berth-stack.schema.json.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from infra import targets
from infra.config import tiers
from infra.errors import NAMESPACE
from infra.spec import SECRET_NAME, Alerts, Cache, Database, Edge, Image, Migrations, Service, ServiceDefaults

SCHEMA_FILE = "docs/berth-stack.schema.json"
SERVICE_NAME = Service.model_fields["name"].metadata[0].pattern if Service.model_fields["name"].metadata else None


def _partial(node: Any, keep_required: dict[str, list[str]], title: str = "") -> Any:
    """Drop `required` (and pydantic's titles) all the way down, except where a model must keep one."""
    if isinstance(node, dict):
        out = {k: _partial(v, keep_required, k) for k, v in node.items() if k not in ("required", "title")}
        if "required" in node and title in keep_required:
            out["required"] = keep_required[title]
        return out
    if isinstance(node, list):
        return [_partial(v, keep_required, title) for v in node]
    return node


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def schema() -> dict[str, Any]:
    models: list[tuple[str, type[BaseModel]]] = [
        ("services", Service), ("service_defaults", ServiceDefaults), ("image", Image), ("database", Database),
        ("cache", Cache), ("alerts", Alerts), ("edge", Edge), ("migrations", Migrations),
    ]
    target_models = [(name, targets.load(name).Settings) for name in targets.TARGETS]
    keys, defs = models_json_schema([(m, "validation") for _, m in models + target_models],
                                    ref_template="#/$defs/{model}")
    defs = defs["$defs"]
    names = {model: keys[(model, "validation")]["$ref"].rsplit("/", 1)[-1] for _, model in models + target_models}
    # A target's Settings are all called Settings: name each after its target.
    for target, model in target_models:
        new = f"{target}_settings"
        defs[new] = defs.pop(names[model])
        defs[new]["description"] = f"berth:{target}, merged over the tiers' `{target}:` section (docs/config.md)."
        names[model] = new
    service = defs[names[Service]]
    service["properties"].pop("name", None)  # the key under berth:services is the name
    defs = _partial(defs, {names[Service]: ["kind"]})

    props: dict[str, Any] = {
        f"{NAMESPACE}:target": {"enum": list(targets.TARGETS), "description": "where the stack runs"},
        f"{NAMESPACE}:tier": {"enum": tiers(), "description": "which stacks/<tier>.yaml supplies the defaults"},
        f"{NAMESPACE}:services": {
            "type": "object", "description": "the processes to run, by name",
            "propertyNames": {"pattern": SERVICE_NAME} if SERVICE_NAME else {},
            "additionalProperties": _ref(names[Service])},
        f"{NAMESPACE}:env": {"type": "object", "description": "plain env for every service (never a secret)",
                             "additionalProperties": {"type": ["string", "number", "boolean"]}},
        f"{NAMESPACE}:secrets": {"type": "array", "description": "names of the secrets the service receives",
                                 "items": {"type": "string", "pattern": SECRET_NAME.pattern}},
        f"{NAMESPACE}:domain": {"type": ["string", "null"], "description": "the service's public DNS name"},
        f"{NAMESPACE}:log_retention_days": {"type": "integer", "description": "days service logs are kept"},
    }
    for key, model in models:
        if key != "services":
            props[f"{NAMESPACE}:{key}"] = _ref(names[model])
    for target, model in target_models:
        props[f"{NAMESPACE}:{target}"] = _ref(names[model])
    secret_key = f"^{NAMESPACE}:{SECRET_NAME.pattern.lstrip('^')}"
    config = {
        "type": "object",
        "properties": props,
        "patternProperties": {secret_key: {
            "description": "a secret's value: set it with `pulumi config set --secret NAME …`",
            "type": "object", "properties": {"secure": {"type": "string"}}, "required": ["secure"],
            "additionalProperties": False}},
        # Every berth: key is known; other namespaces (aws:region, pulumi:tags, …) are the providers'.
        "propertyNames": {"anyOf": [{"enum": list(props)}, {"pattern": secret_key},
                                    {"not": {"pattern": f"^{NAMESPACE}:"}}]},
        "required": [f"{NAMESPACE}:target", f"{NAMESPACE}:tier"],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/berth/berth/docs/berth-stack.schema.json",
        "title": "berth stack file (Pulumi.<stack>.yaml)",
        "description": "Generated by `python -m infra schema` from infra/spec.py and each target's Settings.",
        "type": "object",
        "properties": {"config": config, "encryptionsalt": {"type": "string"}, "secretsprovider": {"type": "string"},
                       "encryptedkey": {"type": "string"}, "environment": {}},
        "$defs": defs,
    }


def text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"
