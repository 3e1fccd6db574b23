"""berth's own tooling: `python -m infra plan --stack NAME [--json FILE] [--render-dir DIR]`.

Exit codes: 0 planned and every policy holds; 2 bad stack config (nothing declared); 3 a policy
of policies/ is violated; 4 the engine or the cloud would refuse the plan (duplicate URNs,
invalid or colliding physical names).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from infra.engine import EngineError
from infra.errors import ConfigError


def plan(args: argparse.Namespace) -> int:
    from infra import mocks
    from infra.plan import as_json, render_text, write_render_dir

    try:
        run = mocks.run_stack(args.stack)
    except (FileNotFoundError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4
    from infra.policy import evaluate, mandatory, tier_of

    print(render_text(run))
    tier = tier_of(run)
    violations = evaluate(run, tier)
    blocking = mandatory(violations)
    print(f"\nPolicies (policies/, tier {tier}): {len(blocking)} violation(s), "
          f"{len(violations) - len(blocking)} advisory")
    for violation in violations:
        print(f"    {violation.level:<9} {violation}")
    if args.json:
        Path(args.json).write_text(json.dumps(as_json(run), indent=2, sort_keys=True) + "\n")
        print(f"\nWrote {args.json}")
    if args.render_dir:
        written = write_render_dir(run, Path(args.render_dir))
        print(f"Wrote {len(written)} files to {args.render_dir}")
    return 3 if blocking else 0


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `plan | head` ends quietly, like any Unix tool
    parser = argparse.ArgumentParser(prog="python -m infra", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="print what `pulumi up` would create, computed offline under mocks")
    p.add_argument("--stack", default="local", help="stack name: reads Pulumi.<stack>.yaml (default: local)")
    p.add_argument("--json", metavar="FILE", help="write every resource with its inputs (secrets masked)")
    p.add_argument("--render-dir", metavar="DIR", help="write one YAML file per resource")
    p.set_defaults(func=plan)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
