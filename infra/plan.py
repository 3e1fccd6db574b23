"""`python -m infra plan`: what `pulumi up` would create for a stack, computed offline.

The tree mirrors `pulumi preview` (type, name, parent); every secret is masked, in the tree's
outputs, in `--json` and in `--render-dir`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from infra.mocks import PROJECT, SECRET_MASK, Record, Run, is_secret, masked, unwrap


def _children(run: Run) -> dict[str, list[Record]]:
    """Children per parent in a stable order (components first, then by type and name): the SDK
    registers resources concurrently, so registration order changes from run to run, and a plan
    posted on every pull request must only change when the program does."""
    tree: dict[str, list[Record]] = {}
    for rec in sorted(run.records, key=lambda r: (r.custom, r.type, r.name)):
        tree.setdefault(rec.parent, []).append(rec)
    return tree


def tree_lines(run: Run) -> list[str]:
    tree = _children(run)
    stack_name = f"{PROJECT}-{run.stack}"
    rows: list[tuple[str, str, str]] = [("", "pulumi:pulumi:Stack", stack_name)]
    roots = [urn for urn in tree if urn.endswith(f"::pulumi:pulumi:Stack::{stack_name}") or urn == ""]

    def walk(urn: str, prefix: str) -> None:
        kids = tree.get(urn, [])
        for i, rec in enumerate(kids):
            last = i == len(kids) - 1
            branch = "└─ " if last else "├─ "
            label = rec.type + ("  [protected]" if rec.options.get("protect") else "")
            rows.append((prefix + branch, label, rec.name))
            walk(rec.urn, prefix + ("   " if last else "│  "))

    for urn in roots:
        walk(urn, "")
    width = max(len(p) + len(t) for p, t, _ in rows) + 2
    lines = [f"     {'Type':<{width}}{'Name':<28}Plan"]
    for prefix, typ, name in rows:
        lines.append(f" +   {prefix + typ:<{width}}{name:<28}create")
    return lines


def outputs_lines(run: Run) -> list[str]:
    if not run.outputs:
        return []
    lines = ["", "Outputs:"]
    for key in sorted(run.outputs):
        value = "[secret]" if key in run.secret_outputs else masked(run.outputs[key])
        lines.append(f"    {key}: {json.dumps(value)}")
    return lines


def counts(run: Run) -> Counter:
    return Counter(rec.type for rec in run.records)


def render_text(run: Run) -> str:
    by_type = counts(run)
    lines = [f"Previewing update ({run.stack}) offline, under the Pulumi SDK's mock runtime:", ""]
    lines += tree_lines(run)
    lines += outputs_lines(run)
    if run.notices:
        lines += ["", "Warnings (a real `pulumi up` refuses these):"] + [f"    {n}" for n in run.notices]
    lines += ["", "Resources:", f"    + {len(run.records) + 1} to create (1 stack, "
              f"{sum(1 for r in run.records if not r.custom)} components, "
              f"{sum(1 for r in run.records if r.custom)} cloud resources)", "", "By type:"]
    lines += [f"    {n:>4}  {typ}" for typ, n in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "\n".join(lines)


def as_json(run: Run) -> dict[str, Any]:
    return {
        "stack": run.stack,
        "resources": [
            {"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent, "custom": r.custom,
             "options": masked(r.options), "inputs": r.masked_inputs()}
            for r in sorted(run.records, key=lambda r: r.urn)
        ],
        "outputs": {k: ("[secret]" if k in run.secret_outputs else masked(v)) for k, v in run.outputs.items()},
        "counts": dict(sorted(counts(run).items())),
        "notices": run.notices,
    }


def is_manifest(rec: Record) -> bool:
    """A pulumi-kubernetes object: its inputs are the object as the API server receives it."""
    return rec.custom and rec.type.startswith("kubernetes:") and {"apiVersion", "kind"} <= set(rec.inputs)


def _mask_leaves(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _mask_leaves(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_leaves(v) for v in value]
    return SECRET_MASK


def manifest(rec: Record) -> dict[str, Any]:
    """The object as a manifest, every secret value masked but its keys kept (a Secret's
    `stringData` stays a map of names to `[secret]`, so the manifest still validates)."""
    def walk(value: Any) -> Any:
        if is_secret(value):
            return _mask_leaves(unwrap(value))
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return masked(value)
    return walk(rec.inputs)


def write_render_dir(run: Run, directory: Path) -> list[Path]:
    """One YAML file per cloud resource; for `kubernetes` objects, the manifest itself."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for index, rec in enumerate(sorted((r for r in run.records if r.custom), key=lambda r: r.urn)):
        slug = re.sub(r"[^A-Za-z0-9]+", "-", rec.type.split(":")[-1]).strip("-").lower()
        path = directory / f"{index:03d}-{slug}-{rec.name}.yaml"
        body = manifest(rec) if is_manifest(rec) else {"type": rec.type, "name": rec.name, "inputs": rec.masked_inputs()}
        path.write_text(yaml.safe_dump(body, sort_keys=True))
        written.append(path)
    return written
