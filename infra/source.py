"""A content hash of a build context, so an image tag names exactly the source it was built from."""

from __future__ import annotations

import hashlib
from pathlib import Path

IGNORED_PARTS = {"__pycache__", ".pytest_cache", ".venv", ".hypothesis", "tests"}
IGNORED_SUFFIXES = {".pyc", ".db", ".sqlite"}


def source_hash(directory: Path, length: int = 12) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory)
        if IGNORED_PARTS.intersection(rel.parts) or path.suffix in IGNORED_SUFFIXES:
            continue
        digest.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:length]


def build_context(directory: str) -> dict[str, str]:
    """Where `docker build` runs for an image built from this repo, and the tag naming its source.

    Paths are relative to the project directory, which is the working directory of every
    `pulumi` command: a plan made in another checkout records the same inputs, and moving the
    checkout does not show up as a change to the image.
    """
    from infra.config import ROOT

    context = Path(directory)
    return {"context": context.as_posix(), "dockerfile": (context / "Dockerfile").as_posix(),
            "tag": source_hash(ROOT / context)}
