"""berth's program, its stack config and its own tooling (`python -m infra …`)."""
