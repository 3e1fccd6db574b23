"""Check a request against botocore's model of the AWS API: an independent model of the cloud.

botocore's own ParamValidator checks types, required members and unknown keys, but not enum values
and not every `min`/`max` (it skips max, and ranges on some types), nor string patterns. `problems()` runs it, then walks
the shape itself for those. `to_api()` turns a recorded Pulumi input (camelCase keys, floats for
every number) into the request's casing and types.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Mapping, Optional

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.validate import ParamValidator


@functools.lru_cache(maxsize=None)
def _model(service: str):
    return botocore.session.get_session().get_service_model(service)


def input_shape(service: str, operation: str) -> StructureShape:
    return _model(service).operation_model(operation).input_shape


def shape_of(service: str, name: str) -> Shape:
    return _model(service).shape_for(name)


def whole(value: Any) -> Any:
    """The mock runtime carries every number as a float: give whole ones back as ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole(v) for v in value]
    return value


def to_api(value: Any, renames: Optional[Mapping[str, str]] = None, pascal: bool = True) -> Any:
    """camelCase keys → PascalCase (or left as they are for camelCase APIs such as ECS), with
    `renames` for the keys whose API name is not the Pulumi name capitalised."""
    renames = renames or {}
    if isinstance(value, dict):
        out = {}
        for key, v in value.items():
            new = renames.get(key) or ((key[:1].upper() + key[1:]) if pascal else key)
            out[new] = to_api(v, renames, pascal)
        return out
    if isinstance(value, list):
        return [to_api(v, renames, pascal) for v in value]
    return whole(value)


def _walk(value: Any, shape: Shape, path: str, out: list[str]) -> None:
    meta = shape.metadata
    if shape.type_name == "structure":
        if not isinstance(value, dict):
            return  # ParamValidator reports the type
        for name, member in shape.members.items():
            if name in value:
                _walk(value[name], member, f"{path}.{name}", out)
        return
    if isinstance(shape, ListShape):
        if isinstance(value, list):
            _range(len(value), meta, f"{path} (length)", out)
            for i, item in enumerate(value):
                _walk(item, shape.member, f"{path}[{i}]", out)
        return
    if isinstance(shape, MapShape):
        if isinstance(value, dict):
            _range(len(value), meta, f"{path} (entries)", out)
            for k, v in value.items():
                _walk(k, shape.key, f"{path}<key>", out)
                _walk(v, shape.value, f"{path}.{k}", out)
        return
    if shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            out.append(f"{path}: {value!r} is not one of {sorted(shape.enum)}")
        _range(len(value), meta, f"{path} (length)", out)
        pattern = _pattern(meta.get("pattern"))
        if pattern is not None and not pattern.fullmatch(value):
            out.append(f"{path}: {value!r} does not match {meta['pattern']}")
    elif shape.type_name in ("integer", "long", "double", "float") and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        _range(value, meta, path, out)


@functools.lru_cache(maxsize=None)
def _pattern(text: Optional[str]) -> Optional[re.Pattern]:
    """The model's patterns are Java regexes; the few Python cannot read are skipped."""
    if not text:
        return None
    try:
        return re.compile(text, re.DOTALL)
    except re.error:
        return None


def _range(found: float, meta: dict, path: str, out: list[str]) -> None:
    if "min" in meta and found < meta["min"]:
        out.append(f"{path}: {found} is below the minimum {meta['min']}")
    if "max" in meta and found > meta["max"]:
        out.append(f"{path}: {found} is above the maximum {meta['max']}")


def problems(service: str, operation: str, params: dict[str, Any], shape: Optional[Shape] = None) -> list[str]:
    """Everything the API would reject in `params` (an empty list when it would accept them)."""
    shape = shape or input_shape(service, operation)
    report = ParamValidator().validate(params, shape)
    out = [report.generate_report()] if report.has_errors() else []
    _walk(params, shape, operation, out)
    return out
