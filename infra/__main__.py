"""berth's own tooling: `python -m infra plan --stack NAME [--json FILE] [--render-dir DIR] [--check]
[--diff OLD.json]` and `python -m infra schema`.

Exit codes: 0 planned and every policy holds; 2 bad stack config (nothing declared) or a bad
argument; 3 a mandatory policy of policies/ is violated, or (with --check) a check failed; 4 the
engine or the cloud would refuse the plan (duplicate URNs, invalid or colliding physical names,
with --diff a replacement or deletion of a protected resource). `history` and `rollback`
(infra/history.py, infra/rollback.py) read and roll back a stack's Pulumi history; their exit codes
are in their `--help`.
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

    old = None
    if args.diff:
        from infra.diff import load
        try:
            old = load(args.diff)
        except (OSError, ValueError) as exc:
            old = exc
        if not isinstance(old, dict):
            why = old or "not a plan written by `plan --json` (no resources list)"
            print(f"error: --diff {args.diff}: {why}", file=sys.stderr)
            return 2
    try:
        run = mocks.run_stack(args.stack)
    except (FileNotFoundError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4
    from infra.policy import evaluate, mandatory, tier_of

    out = [render_text(run)]
    tier = tier_of(run)
    violations = evaluate(run, tier)
    blocking = mandatory(violations)
    refused = False
    if old is not None:
        from infra.diff import diff, render
        changes = diff(old, as_json(run))
        refused = any(c.refused for c in changes)
        unchanged = len(run.records) - sum(1 for c in changes if c.op != "delete")
        out += ["", render(changes, unchanged, args.diff)]
    if not args.check:  # --check reports the pack rule by rule instead
        out.append(f"\nPolicies (policies/, tier {tier}): {len(blocking)} violation(s), "
                   f"{len(violations) - len(blocking)} advisory")
        out += [f"    {v.level:<9} {v}" for v in violations]
    if args.json:
        Path(args.json).write_text(json.dumps(as_json(run), indent=2, sort_keys=True) + "\n")
        out.append(f"\nWrote {args.json}")
    if args.render_dir:
        written = write_render_dir(run, Path(args.render_dir))
        out.append(f"Wrote {len(written)} files to {args.render_dir}")
    text = "\n".join(out)
    print(text)
    checks_failed = False
    if args.check:
        from infra.check import failed, run_checks
        lines = run_checks(run, violations, tier, printed=text)
        print("\nChecks:")
        for line in lines:
            print(f"    {line}")
        checks_failed = failed(lines)
    if refused:
        return 4
    return 3 if blocking or checks_failed else 0


def schema(args: argparse.Namespace) -> int:
    from infra.schema import text
    if args.output:
        Path(args.output).write_text(text())
    else:
        sys.stdout.write(text())
    return 0


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `plan | head` ends quietly, like any Unix tool
    parser = argparse.ArgumentParser(prog="python -m infra", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="print what `pulumi up` would create, computed offline under mocks")
    p.add_argument("--stack", default="local", help="stack name: reads Pulumi.<stack>.yaml (default: local)")
    p.add_argument("--json", metavar="FILE", help="write every resource with its inputs (secrets masked)")
    p.add_argument("--render-dir", metavar="DIR", help="write one YAML file per resource")
    p.add_argument("--check", action="store_true",
                   help="also run the API-model checks of the stack's target and a secret-leak scan; "
                        "one line per check, exit 3 on any failure")
    p.add_argument("--diff", metavar="OLD.json",
                   help="show what changed against an earlier plan's --json, as `pulumi preview --diff` would")
    p.set_defaults(func=plan)
    from infra import history, rollback  # day two: the stack's Pulumi history, and rolling back through it

    history.add_parser(sub)
    rollback.add_parser(sub)
    sc = sub.add_parser("schema", help="print the JSON Schema of a stack file's berth:* keys (for editors)")
    sc.add_argument("--output", metavar="FILE", help="write it to FILE instead of stdout")
    sc.set_defaults(func=schema)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
