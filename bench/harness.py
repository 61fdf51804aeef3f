"""Processes for the benchmarks: pinned servers, the fake, wrk, CPU accounting, load average."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from corpus import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The load generator (and the fake WeCom) on one core, the server under test on the other.
GENERATOR_CORE, SERVER_CORE = 0, 1

BARE = """
import sys
import uvloop
from aiohttp import web
async def ok(request):
    await request.read()
    return web.Response(body=b"")
app = web.Application()
app.router.add_post("/wecom/callback", ok)
app.router.add_get("/healthz", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None,
            loop=uvloop.new_event_loop())
"""


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_tools(*, profile: bool = False) -> None:
    """wrk (and taskset) from Debian, py-spy from PyPI when profiling; exit with a clear
    message when they cannot be installed."""
    if shutil.which("taskset") is None:
        raise SystemExit("taskset is missing: apt-get install util-linux")
    if shutil.which("wrk") is None:
        if os.geteuid() != 0:
            raise SystemExit("wrk is missing: run `sudo apt-get install wrk` (Debian) first")
        print("installing wrk (apt-get install wrk) ...", flush=True)
        cmd = ["apt-get", "install", "-y", "-qq", "wrk"]
        if subprocess.run(cmd, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
            if subprocess.run(cmd, capture_output=True).returncode != 0:
                raise SystemExit("could not install wrk with apt-get; install it and rerun")
    if profile and shutil.which("py-spy", path=str(Path(sys.executable).parent)) is None:
        print("installing py-spy (pip install py-spy) ...", flush=True)
        pip = [sys.executable, "-m", "pip", "install", "-q", "py-spy"]
        if subprocess.run(pip, capture_output=True).returncode != 0:
            raise SystemExit("could not install py-spy; pip install py-spy, or run without "
                             "--profile")  # fmt: skip


def pinned(core: int, cmd: list[str], *, env: dict[str, str] | None = None,
           log: Path | None = None) -> subprocess.Popen[bytes]:  # fmt: skip
    """Start cmd on one core (taskset execs it: the pid is the command's own)."""
    out = log.open("ab") if log else subprocess.DEVNULL
    return subprocess.Popen(
        ["taskset", "-c", str(core), *cmd], env=env, cwd=ROOT, stdout=out, stderr=out
    )


def pin_self(core: int) -> None:
    """Keep this process (a Python load generator) on one core."""
    os.sched_setaffinity(0, {core})


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until url answers 200; fail if the process died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args!r} exited with {proc.returncode} (see its log)")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up in {timeout:.0f} s")


def get_json(url: str) -> object:
    """GET a JSON document."""
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate one process we started, and wait for it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class CpuMeter:
    """CPU time one process uses over a stretch."""

    pid: int
    cpu0: float = 0.0

    def start(self) -> None:
        """Begin a stretch."""
        self.cpu0 = cpu_seconds(self.pid)

    def used(self) -> float:
        """CPU seconds used since start()."""
        return cpu_seconds(self.pid) - self.cpu0


def load_average() -> str:
    """The 1/5/15-minute load averages (other work on this 2-core machine skews figures)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


def server_env(*, port: int, api_base: str, database_url: str, log_level: str,
               extra: dict[str, str] | None = None) -> dict[str, str]:  # fmt: skip
    """The production settings path (no sandbox), with a strong random session secret."""
    env = {
        **os.environ,
        "WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": str(AGENT_ID), "WECOM_SECRET": SECRET,
        "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY, "WECOM_API_BASE": api_base,
        "DATABASE_URL": database_url, "SIDEKICK_SESSION_SECRET": secrets.token_urlsafe(36),
        "HOST": "127.0.0.1", "PORT": str(port), "SIDEKICK_LOG_LEVEL": log_level,
        "SIDEKICK_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }  # fmt: skip
    for name in ("SIDEKICK_SANDBOX", "REDIS_URL", "SIDEKICK_FAULT", "SIDEKICK_KF_SERVICERS",
                 "SIDEKICK_SUPERVISORS", "SIDEKICK_ADMINS"):  # fmt: skip
        env.pop(name, None)
    env.update(extra or {})
    return env


def start_fake(seed: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The standalone fake WeCom on the generator's core; (process, base URL)."""
    port = free_port()
    proc = pinned(GENERATOR_CORE, [sys.executable, str(BENCH / "fake_wecom.py"), "--port",
                                   str(port), "--seed", str(seed)], log=log)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/_faults", proc)
    return proc, base


def start_server(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python -m bot` on the server core."""
    proc = pinned(SERVER_CORE, [sys.executable, "-m", "bot"], env=env, log=log)
    wait_http(f"http://127.0.0.1:{env['PORT']}/healthz", proc)
    return proc


def start_bare(log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The bare aiohttp handler (reads the body, answers an empty 200) on the server core."""
    port = free_port()
    proc = pinned(SERVER_CORE, [sys.executable, "-c", BARE, str(port)], log=log)
    wait_http(f"http://127.0.0.1:{port}/healthz", proc)
    return proc, port


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0-1) by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]
