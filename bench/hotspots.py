"""Sample the server with py-spy while it runs the mix, and sum the stacks up by where CPU goes."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from harness import GENERATOR_CORE, ROOT

RATE = 250  # samples a second per thread
_FRAME = re.compile(r"^(?P<func>.*) \((?P<path>[^()]*?)(?::\d+)?\)$")


@dataclass
class Spy:
    """A running py-spy recording."""

    proc: subprocess.Popen[bytes]
    started: float


@dataclass
class Profile:
    """Where the sampled stacks were: by thread, by package of the running frame, by function."""

    samples: int = 0
    seconds: float = 0.0
    threads: Counter[str] = field(default_factory=Counter)
    packages: Counter[str] = field(default_factory=Counter)  # self time
    self_time: Counter[str] = field(default_factory=Counter)
    inclusive: Counter[str] = field(default_factory=Counter)
    raw: Path = Path()


def record(pid: int, out: Path) -> Spy:
    """Start py-spy on pid (non-blocking: the server is not paused to read it)."""
    spy = str(Path(sys.executable).parent / "py-spy")
    cmd = ["taskset", "-c", str(GENERATOR_CORE), spy, "record", "--pid", str(pid), "--rate",
           str(RATE), "--nonblocking", "--threads", "--format", "raw", "-o", str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attach before the load starts
    return Spy(proc, time.monotonic())


def finish(spy: Spy, out: Path) -> Profile:
    """Stop the recording and sum it up."""
    seconds = time.monotonic() - spy.started
    spy.proc.send_signal(signal.SIGINT)
    spy.proc.wait(60)
    profile = summarise(out.read_text().splitlines())
    profile.seconds, profile.raw = seconds, out
    return profile


def summarise(lines: list[str]) -> Profile:
    """Collapsed stacks ("thread (tid): name;frame;frame count") summed up."""
    profile = Profile()
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        head, *frames = stack.split(";")
        thread = head.split(": ", 1)[-1]
        profile.samples += count
        profile.threads[thread] += count
        names = [_name(f) for f in frames]
        if names:
            profile.self_time[names[-1]] += count
            profile.packages[_package(frames[-1])] += count
        for name in set(names):
            profile.inclusive[name] += count
    return profile


def _name(frame: str) -> str:
    found = _FRAME.match(frame)
    if found is None:
        return frame
    return f"{found['func']} ({_short(found['path'])})"


def _short(path: str) -> str:
    # py-spy names files relative to their sys.path entry: "aiohttp/web.py", "threading.py".
    if path.startswith(str(ROOT) + "/"):
        return path[len(str(ROOT)) + 1 :]
    return path


OURS = ("bot", "handlers", "knowledge", "sidebar", "console")


def _package(frame: str) -> str:
    """Where a frame's code lives: our sub-package, a library, or a stdlib module."""
    found = _FRAME.match(frame)
    path = _short(found["path"]) if found else frame
    parts = path.split("/")
    if len(parts) == 1 or path.startswith("<"):
        return "stdlib " + parts[0].removesuffix(".py")
    if parts[0] in OURS:
        return "/".join(parts[:2]).removesuffix(".py")
    if parts[0] in ("asyncio", "json", "logging", "xml", "concurrent", "email", "http"):
        return "stdlib " + parts[0]
    return parts[0]
