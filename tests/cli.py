"""Run `python -m bot ...` as an operator would: a separate process, settings from its env."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Settings a developer's shell (or `make test`) may carry; each run starts without them.
_OURS = ("WECOM_", "SIDEKICK_", "DATABASE_URL", "REDIS_URL", "HOST", "PORT")


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without our settings, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env.update(values, PYTHONPATH=str(ROOT))
    return env


def run_bot(
    *args: str, cwd: Path, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` in cwd with only the given settings; waits for it to exit."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
