"""Callback throughput and latency through the whole pipeline, beside a bare aiohttp handler.

What runs, all on loopback: the server under test, `python -m bot` on the production settings
path (no sandbox; SQLite file unless --database; a random 48-character session secret; log
level INFO, as in production, into a file), pinned to core 1; beside it on the same core, a
bare aiohttp handler (uvloop, reads the body, answers an empty 200). On core 0: wrk (one
thread, C) driven by bench/wrk_mix.lua, and a standalone fake WeCom (bench/fake_wecom.py)
that the server calls through WECOM_API_BASE. The fake's CPU is reported; a PostgreSQL
server's (--database) is not pinned and not counted.

What is sent: distinct signed and encrypted callbacks, built before the run (corpus.MIX):
reps' app texts (the /help hint), slash-commands that write (/note, /follow with a due time,
/tag) and read (/todo, /find) against a seeded corp (20 reps x 200 customers by default,
tags, open follow-ups; the demo channels, welcome templates and knowledge base),
add_external_contact with a WelcomeCode and a 活码 state (welcome, externalcontact/get,
channel tags and remark: the fake knows each new customer), and kf_msg_or_event notices whose
customer text (FAQ question, unknown question or a request for a person) the server pulls
with kf/sync_msg. Add events carry a CreateTime past the end of the run: their bodies are
built before it, and the server dates a WelcomeCode's 20 s from min(CreateTime, arrival).
kf handovers go to the queue with nobody notified (no servicers or supervisors configured):
notices to one member are capped at 30 a minute, which a bench rate would only pile up.

Phases (the same bodies for both servers; the bare handler may get them repeated, as it does
not de-duplicate; the pipeline never gets one twice):
1. warm-up of the pipeline (access token, channel tags created, caches);
2. closed loop: wrk -c32 sends as fast as answers come back, bare then pipeline;
3. fixed rate, 300 req/s by default, for both (wrk2 is not in Debian: wrk_mix.lua's delay()
   hands each request the next slot of one schedule; a request that finds every connection
   busy leaves late and is counted, since its latency then leaves out the wait); then the
   pipeline alone at half its closed-loop rate, where it has headroom;
4. each kind alone (--per-kind N, 200 by default): CPU per request, its effects included;
5. with --profile, py-spy samples the pipeline during one more closed-loop run of the mix.

Every response is checked: status 200; for texts and commands, a correctly signed passive
reply that decrypts to what that kind of request should say, or an empty body when the reply
went out later (then it must be an outbox message); an empty body for events. After the run,
every inbox row must be done and every outbox effect delivered (read from the database), and
the fake's calls are counted by path and errcode. Anything else is printed as a FAILURE and
the exit status is 1.

Figures: answers/s and wrk's latency percentiles (wrk's closed-loop correction included, for
both servers alike), the pipeline/bare ratio, CPU of each process as a share of one core,
and the load average: this 2-core machine is shared, so figures are indicative; requests per
server CPU-second is the figure least moved by other load. About 4 minutes by default.

    .venv/bin/python bench/callback.py [--requests 5000] [--rate 300] [--seconds 15]
        [--per-kind 200] [--profile] [--database postgresql+asyncpg://user@host:port/bench_x]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchdb  # noqa: E402
import harness  # noqa: E402
import hotspots  # noqa: E402
import wrkrun  # noqa: E402
from benchreport import Report  # noqa: E402
from corpus import MIX, Callback, Forge, Mixer, World, write_requests  # noqa: E402
from harness import CpuMeter  # noqa: E402

CLOSED_CONNECTIONS = 32
RATE_CONNECTIONS = 64
BARE_REPEAT = 3  # the bare handler goes through the closed-loop bodies this many times


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="closed-loop requests")
    parser.add_argument("--rate", type=float, default=300.0, help="fixed rate, requests/s")
    parser.add_argument("--seconds", type=float, default=15.0, help="fixed-rate duration")
    parser.add_argument("--warmup", type=int, default=600)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--customers", type=int, default=200, help="customers per rep")
    parser.add_argument(
        "--per-kind",
        type=int,
        default=200,
        metavar="N",
        help="also N requests of each kind alone: CPU per request by kind",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the pipeline too")
    parser.add_argument("--profile-requests", type=int, default=3000)
    parser.add_argument("--database", help="a database URL instead of a fresh SQLite file "
                        "(PostgreSQL: the database is dropped and created)")  # fmt: skip
    parser.add_argument("--log-level", default="INFO", help="the server's (production: INFO)")
    parser.add_argument("--workdir", type=Path, help="keep logs and files here")
    return parser.parse_args()


class Bench:
    """The processes of one run and the phases sent to them."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args, self.work = args, work
        self.url = args.database or f"sqlite+aiosqlite:///{work / 'bench.db'}"
        self.report = Report(args, work)
        self.phases: dict[str, list[Callback]] = {}

    def build(self) -> None:
        """Every phase's callbacks, the fake's seed, and the seeded database."""
        args, work = self.args, self.work
        world = World.build(args.reps, args.customers)
        mixer = Mixer(world, Forge())
        created = int(time.time()) + 3600  # past the end of the run (see the docstring)
        plan = {"warm": args.warmup, "closed": args.requests,
                "rate": int(args.rate * args.seconds),
                "half": int(args.rate * args.seconds)}  # fmt: skip
        if args.profile:
            plan["profile"] = args.profile_requests
        for name, n in plan.items():
            self.phases[name] = mixer.build(mixer.kinds(n), created)
        for kind, _ in MIX if args.per_kind else ():
            self.phases[f"only {kind}"] = mixer.build([kind] * args.per_kind, created)
        for name, callbacks in self.phases.items():
            write_requests(self._file(name, "requests"), callbacks)
        world.write_fake_seed(work / "fake-seed.json")
        benchdb.prepare(self.url)
        asyncio.run(benchdb.seed(self.url, world))

    def _file(self, phase: str, suffix: str) -> Path:
        return self.work / f"{phase.replace(' ', '-').replace('/', '')}.{suffix}"

    def run(self) -> None:
        """Start the fake and both servers, run every phase, read the outcome, stop."""
        args, work, report = self.args, self.work, self.report
        fake, api = harness.start_fake(work / "fake-seed.json", work / "fake.log")
        bare, self.bare_port = harness.start_bare(work / "bare.log")
        self.port = harness.free_port()
        env = harness.server_env(port=self.port, api_base=api, database_url=self.url,
                                 log_level=args.log_level)  # fmt: skip
        server = harness.start_server(env, work / "server.log")
        self.meters = {"server": CpuMeter(server.pid), "fake": CpuMeter(fake.pid)}
        self.bare_meters = {"bare": CpuMeter(bare.pid)}
        try:
            self.pipeline("warm", connections=8)
            benchdb.settle(self.url, 60)
            self.bare("closed", total=len(self.phases["closed"]) * BARE_REPEAT)
            sessions = asyncio.run(benchdb.pg_sessions(self.url))
            self.pipeline("closed")
            after = asyncio.run(benchdb.pg_sessions(self.url))
            if sessions is not None and after is not None:
                report.pg_connections = after - sessions - 1  # minus our own look
            report.open_after_closed = asyncio.run(benchdb.outcome(self.url))
            started = time.monotonic()
            benchdb.settle(self.url, 120)
            report.drain_seconds = time.monotonic() - started
            self.pipeline("rate", rate=args.rate)
            self.bare("rate", total=len(self.phases["rate"]), rate=args.rate)
            # Latency where the pipeline has headroom: half its closed-loop throughput.
            half = min(args.rate, max(1.0, round(report.runs["closed"].rps / 2)))
            benchdb.settle(self.url, 120)
            self.pipeline("half", rate=half, total=int(half * args.seconds))
            for name in [p for p in self.phases if p.startswith("only ")]:
                benchdb.settle(self.url, 120)
                meter = CpuMeter(server.pid)
                meter.start()
                self.pipeline(name)
                benchdb.settle(self.url, 120)  # its effects' delivery is part of its cost
                report.kind_cpu[name] = meter.used()
            if args.profile:
                benchdb.settle(self.url, 120)
                raw = work / "profile.raw.txt"
                spy = hotspots.record(server.pid, raw)
                self.pipeline("profile")
                report.profile = hotspots.finish(spy, raw)
            report.final = benchdb.settle(self.url, 120)
            report.fake_calls = harness.get_json(f"{api}/_bench/summary")  # type: ignore[assignment]
            report.welcomes = _welcome_delays(self.url, api, self.phases)
        finally:
            for proc in (server, bare, fake):
                harness.stop(proc)
        for name, run in report.runs.items():
            report.sent[name] = Counter(cb.kind for cb in self.phases[name][: run.sent])

    def pipeline(self, name: str, *, connections: int = CLOSED_CONNECTIONS,
                 rate: float = 0.0, total: int | None = None) -> None:  # fmt: skip
        """One run against the pipeline (the first `total` of its callbacks), all checked."""
        callbacks = self.phases[name]
        run = wrkrun.run(
            self.port, self._file(name, "requests"), self._file(name, "pipeline.out"),
            mode="rate" if rate else "closed", total=total or len(callbacks), rate=rate,
            connections=RATE_CONNECTIONS if rate else connections, meters=self.meters,
        )  # fmt: skip
        self.report.runs[name] = run
        self.report.checks[name] = wrkrun.check_pipeline(run, callbacks)

    def bare(self, name: str, *, total: int, rate: float = 0.0) -> None:
        """One run against the bare handler, every response checked."""
        run = wrkrun.run(
            self.bare_port, self._file(name, "requests"), self._file(name, "bare.out"),
            mode="rate" if rate else "closed", total=total, rate=rate,
            connections=RATE_CONNECTIONS if rate else CLOSED_CONNECTIONS, meters=self.bare_meters,
        )  # fmt: skip
        self.report.bare[name] = run
        self.report.bare_checks[name] = wrkrun.check_bare(run)


def main() -> int:
    """Build, seed, start, run the phases, check, print; non-zero exit on any failure."""
    args = parse_args()
    harness.ensure_tools(profile=args.profile)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-callback-"))
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(args, work)
    bench.build()
    bench.run()
    return bench.report.print()


def _welcome_delays(
    url: str, api: str, phases: dict[str, list[Callback]]
) -> dict[str, list[float]]:
    """Per phase: seconds from an add event's arrival (inbox row) to the fake's welcome call."""
    arrivals = asyncio.run(benchdb.welcome_arrivals(url))
    calls = harness.get_json(f"{api}/_bench/calls?path=externalcontact/send_welcome_msg")
    assert isinstance(calls, list)
    sent = {c["json"]["welcome_code"]: datetime.fromisoformat(c["at"]).timestamp()
            for c in calls if c["errcode"] == 0}  # fmt: skip
    out: dict[str, list[float]] = {}
    for name, callbacks in phases.items():
        codes = [cb.ref for cb in callbacks if cb.kind == "add_contact"]
        out[name] = [sent[c] - arrivals[c] if c in sent and c in arrivals else float("inf")
                     for c in codes if c in arrivals]  # fmt: skip
    return out


if __name__ == "__main__":
    sys.exit(main())
