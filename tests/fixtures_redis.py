"""pytest plugin: `redis_url` for tests of the shared (Redis) paths.

Order: env SIDEKICK_TEST_REDIS_URL (set by `make test`), else a throwaway redis-server on a
free loopback port for the session, else skip (only outside `make test`: with
SIDEKICK_REQUIRE_REDIS=1, as `make test` sets, a missing Redis fails instead of skipping).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ENV = "SIDEKICK_TEST_REDIS_URL"
REQUIRE_ENV = "SIDEKICK_REQUIRE_REDIS"
_START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _start(binary: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    # A port picked by bind(0) can be taken before redis binds it; try a few.
    for _ in range(3):
        port = _free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            if _ping(port):
                return proc, port
            time.sleep(0.05)
        proc.kill()
        proc.wait()
    raise RuntimeError("redis-server did not start on loopback")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real Redis for this test session (never a production one: loopback only)."""
    url = os.environ.get(ENV)
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        reason = f"needs a real Redis: install redis-server or set {ENV} (make test does)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    proc, port = _start(binary, tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
