"""The callback bench's printout: figures beside the bare handler, every check, and a verdict."""

from __future__ import annotations

import argparse
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import hotspots
from benchdb import Outcome
from corpus import MIX
from harness import load_average, percentile
from hotspots import Profile
from wrkrun import Check, Run

WELCOME_WINDOW = 20.0  # seconds a WelcomeCode lives
TOP = 15


@dataclass
class Report:
    """Everything one run of bench/callback.py measured."""

    args: argparse.Namespace
    work: Path
    load_before: str = field(default_factory=load_average)
    runs: dict[str, Run] = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)
    bare: dict[str, Run] = field(default_factory=dict)
    bare_checks: dict[str, Check] = field(default_factory=dict)
    open_after_closed: Outcome | None = None
    drain_seconds: float = 0.0
    final: Outcome | None = None
    fake_calls: dict[str, int] = field(default_factory=dict)
    welcomes: dict[str, list[float]] = field(default_factory=dict)
    profile: Profile | None = None
    sent: dict[str, Counter[str]] = field(default_factory=dict)  # phase -> kind -> sent
    kind_cpu: dict[str, float] = field(default_factory=dict)  # server CPU s, run + drain
    pg_connections: int | None = None  # opened by the server during the closed loop
    problems: list[str] = field(default_factory=list)  # failed checks: figures not valid
    warnings: list[str] = field(default_factory=list)  # targets missed, figures caveated

    def print(self) -> int:
        """Print it all; 0 when every check passed, 1 otherwise."""
        a = self.args
        print("\n=== callback pipeline vs bare aiohttp handler (indicative: shared machine) ===")
        print(f"{self.load_before} before; {load_average()} after")
        print(f"server: python -m bot, production settings, log level {a.log_level}, "
              f"{'database ' + a.database if a.database else 'SQLite file'}; "
              f"seed {a.reps} reps x {a.customers} customers; files in {self.work}")  # fmt: skip
        self._mix()
        self._closed()
        self._rate()
        self._kinds()
        self._welcomes()
        self._checks()
        self._profile()
        for warning in self.warnings:
            print(f"  WARNING: {warning}")
        if self.problems:
            print(f"\n!!! FAILURES ({len(self.problems)}): the figures above are not valid !!!")
            for problem in self.problems:
                print(f"  FAILURE: {problem}")
            return 1
        total = sum(r.answered for r in self.runs.values())
        print(f"\nRESULT: OK, all {total} pipeline responses checked; every inbox row done, "
              "every effect delivered")  # fmt: skip
        return 0

    def _mix(self) -> None:
        for phase in ("closed", "rate"):
            sent = self.sent.get(phase, Counter())
            total = sum(sent.values())
            if not total:
                continue
            parts = [f"{k} {n} ({n / total:.0%}, target {dict(MIX).get(k, 0)}%)"
                     for k, n in sent.most_common()]  # fmt: skip
            print(f"mix sent, {phase} ({total}): " + ", ".join(parts))

    def _closed(self) -> None:
        bare, app = self.bare.get("closed"), self.runs.get("closed")
        if bare is None or app is None:
            return
        print(f"\nclosed loop, wrk -t1 -c32: pipeline {app.sent} distinct requests; bare "
              f"{bare.sent} (the same bodies, repeated)")  # fmt: skip
        _header()
        _row("bare aiohttp handler", bare, "bare")
        _row("sidekick pipeline", app, "server")
        ratio = app.rps / bare.rps if bare.rps else math.nan
        per_cpu = _per_cpu(app, "server") / _per_cpu(bare, "bare")
        print(f"  ratio pipeline/bare: throughput {ratio:.3f} (target >= 0.25); per server "
              f"CPU-second {per_cpu:.3f}; p99 {app.latency_ms['p99']:.1f} ms vs "
              f"{bare.latency_ms['p99']:.1f} ms")  # fmt: skip
        print(f"  fake WeCom used {app.cpu.get('fake', 0):.0%} of a core beside wrk (generator "
              "core); a server below ~100% CPU was held back by other load on the machine "
              "(or, for the bare handler, by its generator)")  # fmt: skip
        if self.pg_connections is not None:
            print(
                f"  PostgreSQL connections opened during the closed loop: "
                f"{self.pg_connections} (a pool that keeps up opens none once warm)"
            )
        if self.open_after_closed is not None:
            o = self.open_after_closed
            print(f"  when wrk finished: {o.open_inbox} inbox rows and {o.open_effects} effects "
                  f"still open; all done {self.drain_seconds:.1f} s later")  # fmt: skip

    def _rate(self) -> None:
        bare, app = self.bare.get("rate"), self.runs.get("rate")
        if bare is None or app is None:
            return
        print(f"\nfixed rate {self.args.rate:.0f} req/s for {self.args.seconds:.0f} s, "
              "wrk -t1 -c64 on wrk_mix.lua's schedule")  # fmt: skip
        _header()
        _row("bare aiohttp handler", bare, "bare")
        _row("sidekick pipeline", app, "server")
        for name, run in (("bare", bare), ("pipeline", app)):
            if run.late_slots:
                self.warnings.append(
                    f"{name} at {self.args.rate:.0f} req/s ({run.rps:.0f} achieved): "
                    f"{run.late_slots} of {run.sent} requests left over 10 ms after their slot, "
                    "all 64 connections being busy (the server did not keep up, or the machine "
                    "starved the generator); their latencies leave that wait out"
                )
        print(f"  pipeline p99 at {self.args.rate:.0f} req/s: {app.latency_ms['p99']:.1f} ms "
              f"(bare {bare.latency_ms['p99']:.1f} ms); schedule kept (late slots: "
              f"{app.late_slots} / {bare.late_slots})")  # fmt: skip
        half = self.runs.get("half")
        if half is not None:
            rate = half.answered / half.seconds if half.seconds else math.nan
            print(f"  and at half the pipeline's closed-loop rate, ~{rate:.0f} req/s for "
                  f"{self.args.seconds:.0f} s:")  # fmt: skip
            _row("sidekick pipeline", half, "server")
            if half.late_slots:
                self.warnings.append(f"pipeline at half its rate: {half.late_slots} requests "
                                     "left over 10 ms after their slot")  # fmt: skip

    def _kinds(self) -> None:
        runs = {n.removeprefix("only "): r for n, r in self.runs.items() if n.startswith("only ")}
        if not runs:
            return
        print(
            f"\neach kind alone, closed loop wrk -c32, {self.args.per_kind} requests each "
            "(server CPU per request counts the delivery of its effects after the run too)"
        )
        bare = self.bare.get("closed")
        bare_per_cpu = _per_cpu(bare, "bare") if bare else math.nan
        print(f"  {'kind':<12} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU':>6} "
              f"{'server CPU ms/request':>22} {'req/CPU-s vs bare':>18}")  # fmt: skip
        for kind, run in runs.items():
            used = self.kind_cpu.get(f"only {kind}", math.nan)
            per = 1000 * used / run.answered if run.answered else math.nan
            print(f"  {kind:<12} {run.rps:8.0f} {run.latency_ms['p50']:8.2f} "
                  f"{run.latency_ms['p99']:8.2f} {run.cpu.get('server', 0):6.0%} "
                  f"{per:22.2f} {1000 / per / bare_per_cpu:18.3f}")  # fmt: skip

    def _welcomes(self) -> None:
        print("\nwelcomes in the mix: add event's arrival (inbox row) -> fake's send_welcome_msg")
        for name, delays in self.welcomes.items():
            if not delays:
                continue
            finite = [d for d in delays if math.isfinite(d)]
            late = sum(1 for d in delays if d > WELCOME_WINDOW)
            print(f"  {name:<8} {len(delays):5d} welcomes: p50 {percentile(finite, 0.5):.2f} s, "
                  f"p99 {percentile(finite, 0.99):.2f} s, max {max(finite, default=0):.2f} s; "
                  f"later than 20 s or never: {late}")  # fmt: skip
            if late:
                self.problems.append(f"{late} welcomes of the {name} phase not sent within 20 s")

    def _checks(self) -> None:
        print("\nchecks")
        for name, check in self.checks.items():
            run = self.runs[name]
            replies = ", ".join(f"{k} {n}" for k, n in sorted(check.replies.items()))
            print(f"  {name:<8} pipeline: {run.answered}/{run.sent} answered, statuses "
                  f"{dict(check.statuses)}; passive replies {sum(check.replies.values())} of "
                  f"{check.expected_replies} ({replies}); late (sent later) {check.late}; "
                  f"empty bodies {check.empty}")  # fmt: skip
            self.problems += [f"{name} pipeline: {p}" for p in check.problems[:10]]
            if run.socket_errors:
                self.problems.append(f"{name} pipeline: {run.socket_errors} socket errors")
        for name, check in self.bare_checks.items():
            run = self.bare[name]
            print(f"  {name:<8} bare: {run.answered}/{run.sent} answered, statuses "
                  f"{dict(check.statuses)}")  # fmt: skip
            self.problems += [f"{name} bare: {p}" for p in check.problems[:10]]
        final = self.final
        if final is None:
            self.problems.append("the run did not finish")
            return
        sent = sum(r.sent for r in self.runs.values())
        rows = sum(final.inbox.values())
        print(f"  inbox rows {rows} for {sent} distinct requests sent: {dict(final.inbox)}")
        if rows != sent:
            self.problems.append(f"{rows} inbox rows for {sent} distinct callbacks sent")
        if set(final.inbox) - {"done"}:
            self.problems.append(f"inbox rows not done: {dict(final.inbox)}; e.g. "
                                 f"{final.inbox_errors[:3]}")  # fmt: skip
        effects = Counter({f"{k} {s}/{o or '-'}": n for (k, s, o), n in final.effects.items()})
        print(f"  outbox effects: {dict(sorted(effects.items()))}")
        undelivered = {k: n for k, n in effects.items() if " done/" not in k}
        if undelivered:
            self.problems.append(f"effects not delivered: {undelivered}")
        welcomes = sum(
            n for (k, _, o), n in final.effects.items() if (k, o) == ("welcome", "sent")
        )
        adds = sum(sent["add_contact"] for sent in self.sent.values())
        if welcomes != adds:
            self.problems.append(f"{welcomes} welcomes sent for {adds} add events")
        late = sum(c.late for c in self.checks.values())
        print(f"  late replies recorded as outbox messages: {final.late_replies} (responses "
              f"without their passive reply: {late})")  # fmt: skip
        if final.late_replies != late:
            self.problems.append(f"{late} replies missing from responses, "
                                 f"{final.late_replies} sent later")  # fmt: skip
        ok = {k.removeprefix("cgi-bin/").removesuffix(" errcode=0"): n
              for k, n in self.fake_calls.items() if k.endswith(" errcode=0")}  # fmt: skip
        refused = {k.removeprefix("cgi-bin/"): n for k, n in self.fake_calls.items()
                   if not k.endswith(" errcode=0")}  # fmt: skip
        print(f"  fake WeCom calls answered ok: {ok}")
        # Refusals the product expects and handles: kf customers are not contacts (84061),
        # two adds racing to create a channel tag (40071), a kf session a person took (95018).
        print(f"  fake WeCom refusals (handled; parked effects would fail above): {refused}")

    def _profile(self) -> None:
        p = self.profile
        if p is None or not p.samples:
            return
        print(f"\nprofile of the pipeline under the mix (py-spy, {p.samples} samples in "
              f"{p.seconds:.0f} s; raw stacks: {p.raw})")  # fmt: skip
        possible = p.seconds * hotspots.RATE
        print("  busy share of wall time by thread: " + ", ".join(
            f"{t} {n / possible:.0%}" for t, n in p.threads.most_common(4)))  # fmt: skip
        print(
            "  (percentages below are of all samples; SQLAlchemy's sync code runs in greenlets,"
            " whose stacks py-spy shows apart from the coroutine that awaits them)"
        )
        print("  self time by package: " + ", ".join(
            f"{k} {n / p.samples:.1%}" for k, n in p.packages.most_common(TOP)))  # fmt: skip
        print("  self time by function:")
        for name, n in p.self_time.most_common(TOP):
            print(f"    {n / p.samples:6.1%}  {name}")
        print("  inclusive time by function (our code and the main libraries):")
        shown = 0
        for name, n in p.inclusive.most_common():
            if "(stdlib/asyncio" in name or "(uvloop" in name or "_run_once" in name:
                continue
            print(f"    {n / p.samples:6.1%}  {name}")
            shown += 1
            if shown == 2 * TOP:
                break


def _header() -> None:
    print(f"  {'':<22} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
          f"{'p99.9':>8} {'max':>8} {'CPU':>6} {'req/CPU-s':>10} {'wrk CPU':>8}")  # fmt: skip


def _row(name: str, run: Run, cpu_key: str) -> None:
    lat = run.latency_ms
    print(f"  {name:<22} {run.rps:8.0f} {lat['p50']:8.2f} {lat['p90']:8.2f} {lat['p99']:8.2f} "
          f"{lat['p999']:8.2f} {lat['max']:8.2f} {run.cpu.get(cpu_key, 0):6.0%} "
          f"{_per_cpu(run, cpu_key):10.0f} {run.cpu.get('wrk', 0):8.0%}")  # fmt: skip


def _per_cpu(run: Run, cpu_key: str) -> float:
    """Requests per CPU-second of the server: the figure least moved by other load."""
    cpu = run.cpu.get(cpu_key, 0.0)
    return run.rps / cpu if cpu else math.nan
