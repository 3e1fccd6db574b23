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
