"""Run wrk with bench/wrk_mix.lua and check every response it recorded."""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from corpus import AES_KEY, CORP_ID, REPLYING, TOKEN, Callback
from harness import BENCH, GENERATOR_CORE, CpuMeter

from bot.wecom.crypto import CryptoError, EnvelopeError, WeComCrypto, parse_envelope, parse_plain
from handlers.commands.chat import HINT

# What a passive reply to each kind of request says when the request succeeded.
REPLIES = {
    "text": re.compile(re.escape(HINT) + "$"),
    "/note": re.compile(r"已记下 \S+ 的备注。$"),
    "/follow": re.compile(r"已记下跟进 #\d+："),
    "/tag": re.compile(r"已给 \S+ 打上：|\S+ 已经有这些标签了"),
    "/todo": re.compile(r"未完成跟进 \d+ 条|没有未完成的跟进"),
    "/find": re.compile(r"找到 \d+ 位客户|你的客户里没有匹配"),
}


@dataclass
class Run:
    """One wrk run: what wrk measured, and CPU shares of the processes involved."""

    sent: int = 0
    answered: int = 0
    seconds: float = 0.0
    late_slots: int = 0
    socket_errors: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    out: Path = Path()

    @property
    def rps(self) -> float:
        """Answers per second, first request sent to last answer received."""
        return self.answered / self.seconds if self.seconds else 0.0


def run(port: int, requests: Path, out: Path, *, mode: str, total: int, connections: int,
        rate: float = 0.0, cap: float = 300.0, meters: dict[str, CpuMeter] | None = None,
        ) -> Run:  # fmt: skip
    """wrk -t1 on the generator's core; stops when every request sent is answered."""
    cmd = ["taskset", "-c", str(GENERATOR_CORE), "wrk", "-t1", f"-c{connections}",
           f"-d{int(cap)}s", "--timeout", "10s", "-s", str(BENCH / "wrk_mix.lua"),
           f"http://127.0.0.1:{port}", "--", str(requests), str(out), mode, str(total),
           str(rate)]  # fmt: skip
    meters = meters or {}
    for meter in meters.values():
        meter.start()
    log = out.with_suffix(".wrk.txt")
    with log.open("wb") as stdout:
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    result = Run(out=out)
    used = {name: meter.used() for name, meter in meters.items()}
    # wrk's own time includes loading the requests: its share is an upper bound.
    used["wrk"] = usage.ru_utime + usage.ru_stime
    line = next((x for x in log.read_text().splitlines() if x.startswith("BENCH ")), None)
    if os.waitstatus_to_exitcode(status) != 0 or line is None:
        raise SystemExit(f"wrk failed; see {log}")
    values = dict(item.split("=") for item in line.split()[1:])
    result.sent, result.answered = int(values["sent"]), int(values["answered"])
    result.seconds, result.late_slots = float(values["seconds"]), int(values["late_slots"])
    result.socket_errors = sum(int(values[k]) for k in ("connect", "read", "write", "timeout"))
    result.latency_ms = {k: int(values[k]) / 1000 for k in ("p50", "p90", "p99", "p999", "max")}
    # Shares of one core over the stretch that requests were in flight (idle before and after).
    result.cpu = {name: sec / result.seconds for name, sec in used.items() if result.seconds}
    return result


def responses(path: Path) -> list[tuple[int, bytes]]:
    """(status, body) of every recorded response, in arrival order."""
    data = path.read_bytes()
    out, pos = [], 0
    while pos < len(data):
        head_end = data.index(b"\n", pos)
        status, length = (int(x) for x in data[pos:head_end].split())
        body = data[head_end + 1 : head_end + 1 + length]
        out.append((status, body))
        pos = head_end + 1 + length + 1
    return out


@dataclass
class Check:
    """Every response of one run, checked."""

    statuses: Counter[int] = field(default_factory=Counter)
    replies: Counter[str] = field(default_factory=Counter)
    empty: int = 0
    expected_replies: int = 0
    sent_kinds: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    unchecked: int = 0

    @property
    def late(self) -> int:
        """Requests that wanted a passive reply and got an empty body (answered later)."""
        return self.expected_replies - sum(self.replies.values())


def check_pipeline(result: Run, sent: list[Callback]) -> Check:
    """Status 200 for all; each non-empty body a correctly signed reply saying what its kind
    of request should; no more replies of a kind than requests of that kind."""
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    check = Check(sent_kinds=Counter(cb.kind for cb in sent[: result.sent]))
    check.expected_replies = sum(n for k, n in check.sent_kinds.items() if k in REPLYING)
    got = responses(result.out)
    check.unchecked = result.sent - len(got)
    for status, body in got:
        check.statuses[status] += 1
        if status != 200:
            continue
        if not body.strip():
            check.empty += 1
            continue
        try:
            env = parse_envelope(body)
            if not crypto.verify(env.get("MsgSignature", ""), env.get("TimeStamp", ""),
                                 env.get("Nonce", ""), env["Encrypt"]):  # fmt: skip
                raise CryptoError("reply signature mismatch")
            content = parse_plain(crypto.decrypt(env["Encrypt"])).get("Content", "")
        except (CryptoError, EnvelopeError) as exc:
            check.problems.append(f"undecryptable reply: {exc}")
            continue
        kind = next((k for k, pattern in REPLIES.items() if pattern.match(content)), None)
        if kind is None:
            check.problems.append(f"unexpected reply: {content[:80]!r}")
        else:
            check.replies[kind] += 1
    for kind, n in check.replies.items():
        if n > check.sent_kinds[kind]:
            check.problems.append(f"{n} replies of kind {kind}, {check.sent_kinds[kind]} sent")
    if check.late < 0:
        check.problems.append(f"{-check.late} more replies than requests that want one")
    _status_problems(check)
    return check


def check_bare(result: Run) -> Check:
    """Status 200 and an empty body for all."""
    check = Check()
    got = responses(result.out)
    check.unchecked = result.sent - len(got)
    for status, body in got:
        check.statuses[status] += 1
        check.empty += not body
    if check.empty != len(got):
        check.problems.append(f"{len(got) - check.empty} non-empty bodies from the bare handler")
    _status_problems(check)
    return check


def _status_problems(check: Check) -> None:
    bad = {s: n for s, n in check.statuses.items() if s != 200}
    if bad:
        check.problems.append(f"non-200 statuses: {bad}")
    if check.unchecked:
        check.problems.append(f"{check.unchecked} requests sent but never answered (unchecked)")
