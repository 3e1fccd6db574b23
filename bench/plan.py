"""How long an offline plan takes, as ratios to the mock runtime's floor.

The floor is a one-resource program run the same way (same process, same mock runtime), so the
ratios say what berth itself costs, whatever the machine. Not a test: nothing here asserts a time.

    .venv/bin/python bench/plan.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi  # noqa: E402

from infra import mocks  # noqa: E402


def one_resource() -> None:
    pulumi.ComponentResource("berth:bench:Floor", "floor")


def timed(fn, repeat: int) -> float:
    fn()  # warm imports and caches once
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def with_services(n: int) -> dict:
    services = {"api": {"kind": "web"}}
    services.update({f"worker-{i}": {"kind": "worker", "command": ["python", "-m", "app", "worker"]}
                     for i in range(1, n)})
    return {"berth:target": "docker", "berth:tier": "dev", "berth:services": services}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    floor = timed(lambda: mocks.run_program("floor", {}, program=one_resource), args.repeat)
    print(f"floor (one-resource program under mocks): {floor * 1000:.1f} ms (median of {args.repeat})")
    print()
    print(f"{'stack':<24}{'resources':>10}{'median ms':>12}{'× floor':>10}")
    for stack in mocks.shipped_stacks():
        count = len(mocks.run_stack(stack).records)
        t = timed(lambda: mocks.run_stack(stack), args.repeat)
        print(f"{stack:<24}{count:>10}{t * 1000:>12.1f}{t / floor:>10.1f}")
    print()
    for n in (1, 10, 50):
        config = with_services(n)
        count = len(mocks.run_program(f"n{n}", config).records)
        t = timed(lambda: mocks.run_program(f"n{n}", config), args.repeat)
        print(f"{f'docker, {n} services':<24}{count:>10}{t * 1000:>12.1f}{t / floor:>10.1f}")


if __name__ == "__main__":
    main()
