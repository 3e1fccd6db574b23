"""The kubernetes target's recorded objects checked against independent models of the API.

- Built-in kinds: `kubernetes-validate` in strict mode (no unknown field anywhere) for the oldest
  Kubernetes minor berth supports (README.md) and for the newest the package knows, so an API that
  is not there yet or is gone already fails.
- Custom resources (CloudNativePG, Prometheus operator, cert-manager): the openAPIV3Schema of their
  CustomResourceDefinitions in `../shared/crds/`, closed: every schema node that lists properties
  and neither sets additionalProperties nor preserves unknown fields gets `additionalProperties:
  false`, so a misspelled key fails as it would not on a cluster (which prunes it silently). Their
  `metadata` is checked as a built-in ObjectMeta.

`check(run)` returns one line per problem, "<type> '<name>': <reason>"; an empty list means valid.
`skipped(run)` says what was not checked: custom resources where the CRD copies are absent (a skip
that CI, which has them, turns into a failure) and the kinds in UNVALIDATED, whose CRD is not among
the copies (tests/test_k8s_plan.py asserts their content instead).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Optional

import jsonschema
import yaml

from infra.checks import Skip
from infra.config import ROOT
from infra.mocks import Record, Run
from infra.plan import is_manifest, manifest

OLDEST_MINOR = "1.30"  # the oldest Kubernetes minor berth supports (README.md, docs/targets/kubernetes.md)
# Beside the repository (as CI lays it out); BERTH_CRD_DIR points elsewhere, e.g. from a worktree.
CRD_DIR = Path(os.environ.get("BERTH_CRD_DIR") or ROOT.parent / "shared" / "crds")
# Custom resource kinds whose CRD is not among the shared copies: not validated, and said so.
UNVALIDATED = {
    ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"):
        "not validated: no CRD schema for AlertmanagerConfig among the shared CRD copies (only "
        "PrometheusRule and ServiceMonitor of the Prometheus operator); tests/test_k8s_plan.py asserts "
        "its route and receiver",
}


def newest_minor() -> str:
    from kubernetes_validate.utils import latest_version, major_minor
    return major_minor(latest_version())


def crds_missing(directory: Optional[Path] = None) -> Optional[str]:
    """Why the custom resources cannot be checked here, or None when they can."""
    directory = directory or CRD_DIR
    if not directory.is_dir() or not any(directory.glob("*.yaml")):
        return (f"no CustomResourceDefinitions in {directory} (the shared CRD copies, see its README; "
                "BERTH_CRD_DIR points elsewhere)")
    return None


def close(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with `additionalProperties: false` on every node that lists its properties."""
    out = dict(schema)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: close(v) for k, v in out["properties"].items()}
        if "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = close(out["additionalProperties"])
    if isinstance(out.get("items"), dict):
        out["items"] = close(out["items"])
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(out.get(key), list):
            out[key] = [close(s) for s in out[key]]
    if isinstance(out.get("not"), dict):
        out["not"] = close(out["not"])
    return out


@functools.lru_cache(maxsize=4)
def crd_schemas(directory: Path = CRD_DIR) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) → closed schema, for every served version of every CRD in the directory."""
    out = {}
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for version in spec["versions"]:
                if version.get("served", True):
                    schema = close(version["schema"]["openAPIV3Schema"])
                    out[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = schema
    return out


def _where(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


@functools.lru_cache(maxsize=256)
def _builtin_validator(api_version: str, kind: str, version: str) -> Optional[jsonschema.Validator]:
    """kubernetes-validate's strict schema for one kind, as its `validate` loads it, kept for reuse
    (loading the definitions per object makes a plan's check take seconds)."""
    import re

    from kubernetes_validate.utils import all_versions, major_minor, schema_contents
    from referencing import Registry, Resource

    schema_version = [v for v in all_versions() if major_minor(v) <= version][-1]
    folder = f"kubernetes-json-schema/v{schema_version}-local-strict"
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", version)
    except FileNotFoundError:
        return None
    definitions = schema_contents(f"{folder}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def builtin_problems(obj: dict[str, Any], version: str) -> list[str]:
    validator = _builtin_validator(obj.get("apiVersion", ""), obj.get("kind", ""), version)
    if validator is None:
        return [f"no {obj.get('kind')} in {obj.get('apiVersion')} on Kubernetes {version}"]
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    return [] if error is None else [f"{_where(error)}: {error.message} (Kubernetes {version}, strict)"]


def custom_problems(obj: dict[str, Any], schemas: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    schema = schemas[(obj["apiVersion"], obj["kind"])]
    validator = jsonschema.Draft7Validator(schema)
    found = [f"{_where(e)}: {e.message} (CRD schema, closed)"
             for e in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))]
    # A CRD's schema leaves metadata open: check it as the API server does, as an ObjectMeta.
    meta = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj.get("metadata") or {}}
    found += builtin_problems(meta, OLDEST_MINOR)
    return found


def is_builtin(api_version: str) -> bool:
    """Kubernetes's own groups: the core group, the dotless ones (apps, batch…) and `*.k8s.io`."""
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return "." not in group or group.endswith(".k8s.io")


def _objects(run: Run) -> list[tuple[Record, dict[str, Any]]]:
    return [(rec, manifest(rec)) for rec in sorted((r for r in run.records if is_manifest(r)), key=lambda r: r.urn)]


def check(run: Run, crds: Optional[Path] = None) -> list[str]:
    crds = crds or CRD_DIR
    schemas = crd_schemas(crds) if crds_missing(crds) is None else None  # None: `skipped` says so
    versions = sorted({OLDEST_MINOR, newest_minor()})
    problems = []
    for rec, obj in _objects(run):
        key = (obj["apiVersion"], obj["kind"])
        if is_builtin(obj["apiVersion"]):
            found = [p for v in versions for p in builtin_problems(obj, v)]
        elif key in UNVALIDATED or schemas is None:
            continue
        elif key in schemas:
            found = custom_problems(obj, schemas)
        else:
            found = [f"no CRD schema for {obj['kind']} ({obj['apiVersion']}) in {crds}"]
        problems += [f"{rec.type} '{rec.name}': {p}" for p in dict.fromkeys(found)]
    return problems


def skipped(run: Run, crds: Optional[Path] = None) -> list[Skip]:
    """The custom resources `check` did not validate, and why."""
    custom = [(rec, obj) for rec, obj in _objects(run) if not is_builtin(obj["apiVersion"])]
    out = []
    missing = crds_missing(crds)
    checkable = [obj for _, obj in custom if (obj["apiVersion"], obj["kind"]) not in UNVALIDATED]
    if missing and checkable:
        kinds = ", ".join(sorted({obj["kind"] for obj in checkable}))
        out.append(Skip(f"{len(checkable)} custom resources ({kinds})", f"not validated: {missing}",
                        ci_must_run=True))
    for rec, obj in custom:
        if (obj["apiVersion"], obj["kind"]) in UNVALIDATED:
            out.append(Skip(f"{rec.type} '{rec.name}'", UNVALIDATED[(obj["apiVersion"], obj["kind"])],
                            ci_must_run=False))
    return out
