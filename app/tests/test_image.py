"""What the image gives the service at run time: a /tmp it owns, declared a volume, so a volume
mounted there (Fargate's bind mount, otherwise created root-owned 0755) is writable by UID 10001."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    parsed = [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
              for line in joined.splitlines() if line.strip()]
    last_from = max(i for i, (name, _) in enumerate(parsed) if name == "FROM")
    return parsed[last_from:]


def _env(final: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for name, args in final:
        if name == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(args))
    return env


def test_image_owns_tmp_and_declares_it_a_volume() -> None:
    final = instructions(DOCKERFILE.read_text())
    names = [name for name, _ in final]
    volume = names.index("VOLUME")
    assert final[volume][1] == '["/tmp"]'
    user = dict(final)["USER"]
    # The RUN that owns /tmp comes before VOLUME: Docker discards later changes to a volume's path,
    # and no later instruction touches /tmp.
    owning = [args for name, args in final[:volume] if name == "RUN" and "/tmp" in args]
    assert owning and f"-o {user.split(':')[0]} -g {user.split(':')[1]}" in owning[-1]
    assert not [args for name, args in final[volume + 1:] if name in {"RUN", "COPY", "ADD"} and "/tmp" in args]
    env = _env(final)
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/") and env["HOME"] == "/tmp"


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to 10001 needs root (CI runs as root)")
def test_the_tmp_instruction_leaves_a_writable_tmp_for_the_service_user(tmp_path) -> None:
    """Run the Dockerfile's own RUN line against a stand-in for /tmp and look at the result."""
    final = instructions(DOCKERFILE.read_text())
    volume = [name for name, _ in final].index("VOLUME")
    command = [args for name, args in final[:volume] if name == "RUN" and "/tmp" in args][-1]
    root = tmp_path / "tmp"
    root.mkdir(mode=0o755)  # what Fargate would create
    subprocess.run(command.replace("/tmp", str(root)), shell=True, check=True)
    uid, gid = (int(x) for x in dict(final)["USER"].split(":"))
    for directory in (root, root / "prometheus"):
        info = directory.stat()
        assert (info.st_uid, info.st_gid) == (uid, gid)
        assert info.st_mode & 0o7777 == 0o1777
