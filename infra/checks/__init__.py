"""API-model checks, one module per target: `check(run) -> list[str]` (one line per problem,
"<type> '<name>': <reason>"; empty: all valid) and, where some objects cannot be checked, an optional
`skipped(run) -> list[Skip]` saying which and why. `plan --check` (infra/check.py) prints each skip.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Skip:
    """What a target's check left unchecked and why. `ci_must_run`: the check could run given what
    CI provides (the shared CRDs, say), so under CI=true the skip is a failure."""

    what: str
    why: str
    ci_must_run: bool

    def __str__(self) -> str:
        return f"{self.what}: {self.why}"
