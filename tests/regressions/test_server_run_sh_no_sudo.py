"""`make test` as a non-root user without sudo: one clear line listing the packages to install.

It used to die with "sudo: command not found"; and python3-venv, without which Debian's
python3 cannot create the .venv, was never checked or installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_missing_packages_without_sudo_are_named(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "dpkg", "env"):  # no sudo, redis-server or chromium
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    (bin_dir / "id").write_text("#!/bin/sh\necho 1000\n")  # a non-root user
    (bin_dir / "python3").write_text("#!/bin/sh\nexit 1\n")  # no ensurepip: no python3-venv
    (bin_dir / "apt-get").write_text("#!/bin/sh\necho apt-get ran >&2\nexit 3\n")
    for script in ("id", "python3", "apt-get"):
        (bin_dir / script).chmod(0o755)
    repo = tmp_path / "repo"  # run.sh cds to its parent's parent: a copy without a .venv
    (repo / "tests").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "run.sh", repo / "tests" / "run.sh")
    proc = subprocess.run(
        [str(bin_dir / "bash"), str(repo / "tests" / "run.sh")],
        env={"PATH": str(bin_dir), "HOME": os.environ.get("HOME", "/tmp")},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1, proc.stderr
    assert "redis-server" in proc.stderr
    assert "python3-venv" in proc.stderr
    assert "apt-get ran" not in proc.stderr
    assert "command not found" not in proc.stderr
