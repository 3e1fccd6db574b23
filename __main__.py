"""Pulumi's entry point. The program, its config and its tooling live in infra/."""

from infra.program import main

main()
