"""The deployed shape under the fair callback bench: the Procfile's `web:` with 1 and 2 workers.

PostgreSQL + Redis, gunicorn with aiohttp's uvloop worker started from the Procfile's own
`web:` line (read from the file), the standalone fake WeCom, and wrk sending the same realistic
mix as bench/callback.py (every answer checked, every inbox row and effect settled after).
Prints req/s, p50/p99 and the server's CPU for each worker count, and the 2-worker/1-worker
ratio.

What the ratio means here: this machine has two cores and wrk, the fake, PostgreSQL and Redis
share them with the workers, so two workers cannot get twice the CPU; a ratio near 1 says the
workers are CPU-bound on a full machine, not that a second worker does not help on a host with
cores to spare. Compare req/s per server CPU-second across the rows as well.

    .venv/bin/python bench/scale.py --database postgresql+asyncpg://u@127.0.0.1:5432/bench_scale \\
        --redis redis://127.0.0.1:6379/7 [--requests 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import redis

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import benchdb  # noqa: E402
import harness  # noqa: E402
import wrkrun  # noqa: E402
from corpus import Forge, Mixer, World, write_requests  # noqa: E402


def web_line() -> str:
    """The Procfile's `web:` command, as written."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise SystemExit("the Procfile has no web: line")


class ProcessTree:
    """CPU seconds of gunicorn's arbiter and its workers together."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.cpu0 = 0.0

    def _total(self) -> float:
        procs = [self.root, *self.root.children(recursive=True)]
        total = 0.0
        for proc in procs:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def start(self) -> None:
        """Begin a stretch."""
        self.cpu0 = self._total()

    def used(self) -> float:
        """CPU seconds used since start()."""
        return self._total() - self.cpu0


def run_once(args: argparse.Namespace, workers: int, work: Path) -> dict[str, float | int]:
    """Seed a fresh database, start the fake and `web:`, run the closed loop, settle, stop."""
    url = args.database
    world = World.build(args.reps, args.customers)
    mixer = Mixer(world, Forge())
    created = int(time.time()) + 3600  # past the end of the run (see bench/callback.py)
    warm = mixer.build(mixer.kinds(args.warmup), created)
    closed = mixer.build(mixer.kinds(args.requests), created)
    write_requests(work / "warm.requests", warm)
    write_requests(work / "closed.requests", closed)
    world.write_fake_seed(work / "fake-seed.json")
    benchdb.prepare(url)
    asyncio.run(benchdb.seed(url, world))
    # The runs reuse the same callbacks: a Redis left from the last run would de-duplicate them.
    redis.Redis.from_url(args.redis).flushdb()
    fake, api = harness.start_fake(work / "fake-seed.json", work / "fake.log")
    port = harness.free_port()
    env = harness.server_env(port=port, api_base=api, database_url=url, log_level="WARNING",
                             extra={"REDIS_URL": args.redis, "WEB_CONCURRENCY": str(workers),
                                    "PATH": os.environ.get("PATH", "")})  # fmt: skip
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # gunicorn of this venv
    log = (work / "web.log").open("ab")
    web = subprocess.Popen(  # noqa: S602 - the Procfile line is a shell command by design
        web_line(), shell=True, env=env, cwd=str(ROOT), stdout=log, stderr=log,
        start_new_session=True,
    )  # fmt: skip
    try:
        harness.wait_http(f"http://127.0.0.1:{port}/healthz", web)
        tree = ProcessTree(web.pid)
        meters = {"server": tree}
        wrkrun.run(port, work / "warm.requests", work / "warm.out", mode="closed",
                   total=len(warm), connections=8)  # fmt: skip
        benchdb.settle(url, 120)
        result = wrkrun.run(
            port, work / "closed.requests", work / "closed.out", mode="closed",
            total=len(closed), connections=args.connections,
            meters=meters,  # type: ignore[arg-type]  # a CpuMeter over the process tree
        )  # fmt: skip
        check = wrkrun.check_pipeline(result, closed)
        outcome = benchdb.settle(url, 180)
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=60)
        harness.stop(fake)
    bad = check.problems or check.unchecked or set(check.statuses) - {200}
    print(f"  {workers} worker(s): {result.answered} answered, statuses {dict(check.statuses)}, "
          f"{sum(check.replies.values())} passive replies, {check.late} late; "
          f"{'FAILURE: ' + str(check.problems[:3]) if bad else 'every response checked'}")
    print(f"  settled: {outcome}")
    if bad:
        raise SystemExit(1)
    cpu = result.cpu.get("server", 0.0) * result.seconds  # wrkrun gives a share of a core
    return {
        "workers": workers, "rps": result.rps, "answered": result.answered,
        "p50": result.latency_ms.get("p50", float("nan")),
        "p99": result.latency_ms.get("p99", float("nan")),
        "cpu": cpu, "per_cpu_s": result.answered / cpu if cpu else 0.0,
    }  # fmt: skip


def main() -> int:
    """Run 1 and 2 workers and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a PostgreSQL URL (recreated)")
    parser.add_argument("--redis", required=True, help="a Redis URL (shared state)")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--customers", type=int, default=200)
    args = parser.parse_args()
    harness.ensure_tools()
    rows = []
    for workers in (1, 2):
        work = Path(tempfile.mkdtemp(prefix=f"bench-scale-{workers}-"))
        print(f"web: with {workers} worker(s) ({harness.load_average()}) ...", flush=True)
        rows.append(run_once(args, workers, work))
    head = f"{'workers':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU s':>7} {'req/CPU-s':>9}"
    # CPU s: the arbiter and its workers together over the closed loop.
    print("\n" + head)
    for r in rows:
        print(f"{r['workers']:>7} {r['rps']:>8.1f} {r['p50']:>8.1f} {r['p99']:>8.1f} "
              f"{r['cpu']:>7.1f} {r['per_cpu_s']:>9.1f}")  # fmt: skip
    ratio = rows[1]["rps"] / rows[0]["rps"] if rows[0]["rps"] else 0.0
    print(f"2 workers / 1 worker: {ratio:.2f} (2 cores shared with wrk, the fake, PostgreSQL "
          f"and Redis: see the docstring); {harness.load_average()}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
