"""The shipped stacks as GitHub Actions matrices, read from the `Pulumi.<stack>.yaml` files.

    python .github/stacks.py >> "$GITHUB_OUTPUT"            # all=…, cloud=…, dev=…, prod=…
    python .github/stacks.py --stack prod >> "$GITHUB_OUTPUT"   # stack=… (one entry), tier=…

Every workflow takes its stacks from here, so a new stack file is planned, previewed, deployed and
watched for drift without editing a workflow. Each entry: the stack, its target and tier, the AWS
region (aws only), and `cloud`, the prefix of the GitHub variables and secrets holding that target's
credentials and image repository (AWS_ROLE_ARN, GCP_WORKLOAD_IDENTITY_PROVIDER, K8S_KUBECONFIG, …).
The `docker` target is only planned offline: it deploys to a laptop's Docker engine, not a cloud.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CLOUDS = {"aws": "AWS", "gcp": "GCP", "kubernetes": "K8S"}
OFFLINE = {"docker"}


def entries(root: Path = ROOT) -> list[dict[str, str]]:
    found = []
    for path in sorted(root.glob("Pulumi.*.yaml")):
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        stack = path.name[len("Pulumi."):-len(".yaml")]
        target, tier = config.get("berth:target"), config.get("berth:tier")
        if not target or not tier:
            raise SystemExit(f"{path.name}: berth:target and berth:tier are required, found {target!r} and {tier!r}")
        if target not in CLOUDS and target not in OFFLINE:
            raise SystemExit(f"{path.name}: no credentials are wired for target {target!r} "
                             f"(known: {', '.join(sorted(CLOUDS) + sorted(OFFLINE))}); add it to .github/stacks.py")
        found.append({"stack": stack, "target": target, "tier": tier, "region": config.get("aws:region", ""),
                      "cloud": CLOUDS.get(target, "")})
    return found


def matrices(items: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    cloud = [e for e in items if e["cloud"]]
    return {"all": items, "cloud": cloud,
            "dev": [e for e in cloud if e["tier"] != "prod"], "prod": [e for e in cloud if e["tier"] == "prod"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", help="print only this stack's entry, as `stack=` and `tier=`")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    items = entries(args.root)
    if args.stack:
        entry = next((e for e in items if e["stack"] == args.stack), None)
        if entry is None or not entry["cloud"]:
            known = ", ".join(e["stack"] for e in items if e["cloud"])
            print(f"no cloud stack {args.stack!r} (cloud stacks: {known})", file=sys.stderr)
            return 1
        print(f"stack={json.dumps(entry)}\ntier={entry['tier']}")
        return 0
    for name, matrix in matrices(items).items():
        print(f"{name}={json.dumps(matrix)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
