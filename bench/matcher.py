"""Benchmark the FAQ matcher at 1k / 10k / 100k synthetic entries (prints figures only).

Beside our index it runs `rapidfuzz.process.extractOne` over all questions and `rank_bm25`
on the same words, in the same process, and prints latency median / p99, build time and
memory, and the time of the KB's self-calibration (run on every load; a third of the entries
get two paraphrases as similar questions for it), then one table with the ratios and the
issue's targets. Each size runs in a fresh
subprocess so RSS figures do not leak between sizes. The machine's load average is printed
beside the figures: on a busy machine absolute times grow, ratios much less.

    .venv/bin/python bench/matcher.py [--sizes 1000 10000 100000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import psutil
from rank_bm25 import BM25Okapi
from rapidfuzz import process

from knowledge import calibration, segment
from knowledge.index import KnowledgeIndex
from knowledge.model import FaqEntry, KnowledgeBase

SEED = 20240601
# Baselines are linear scans; at large sizes they get fewer queries to keep the run short.
BASELINE_QUERIES = {1000: 500, 10000: 100, 100000: 20}


def _vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    """Chinese-like words: 1-3 characters drawn from 2,500 common-range ideographs."""
    chars = [chr(0x4E00 + rng.randrange(2500)) for _ in range(2500)]
    return [
        "".join(rng.choice(chars) for _ in range(rng.choice((1, 2, 2, 2, 3)))) for _ in range(size)
    ]


def _question(rng: random.Random, vocab: list[str], weights: list[float]) -> str:
    return "".join(rng.choices(vocab, weights=weights, k=rng.randint(3, 7)))


def make_entries(n: int) -> list[FaqEntry]:
    """n deterministic synthetic entries with a Zipf-like word distribution."""
    rng = random.Random(SEED)
    vocab = _vocabulary(rng)
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(vocab))]
    return [
        FaqEntry(id=f"e{i}", question=_question(rng, vocab, weights), answer="a") for i in range(n)
    ]


def make_queries(entries: Sequence[FaqEntry], n: int) -> list[tuple[str, int]]:
    """Paraphrase-like queries: a known question with characters dropped and added."""
    rng = random.Random(SEED + 1)
    queries = []
    for _ in range(n):
        source = rng.randrange(len(entries))
        chars = list(entries[source].question)
        for _ in range(max(1, len(chars) // 5)):
            chars.pop(rng.randrange(len(chars)))
        chars.insert(rng.randrange(len(chars) + 1), rng.choice("的了吗呢怎么"))
        queries.append(("".join(chars), source))
    return queries


def with_paraphrases(entries: Sequence[FaqEntry]) -> KnowledgeBase:
    """A KB where every third entry has two paraphrases of its question as similar ones."""
    similar = {source: [] for source in range(0, len(entries), 3)}
    for query, source in make_queries(entries, 4 * len(similar)):
        if source in similar and len(similar[source]) < 2:
            similar[source].append(query)
    return KnowledgeBase(
        tuple(
            FaqEntry(
                id=e.id, question=e.question, answer=e.answer, similar=tuple(similar.get(i, ()))
            )
            for i, e in enumerate(entries)
        )
    )


def _calibration_s(entries: Sequence[FaqEntry]) -> float:
    """Seconds to calibrate a KB of these entries (index built beforehand, as on load)."""
    kb = with_paraphrases(entries)
    index = KnowledgeIndex.build(kb)
    started = time.perf_counter()
    calibration.calibrate(kb, index=index)
    return time.perf_counter() - started


def _rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def _latencies(fn: Callable[[str], int], queries: Sequence[tuple[str, int]]) -> dict[str, float]:
    """Latency figures, and how often the top hit is the question the query came from."""
    times = []
    hits = 0
    for query, source in queries:
        started = time.perf_counter()
        found = fn(query)
        times.append((time.perf_counter() - started) * 1000)
        hits += found == source
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))],
        "queries": len(times),
        "hit_at_1": hits / len(times),
    }


def _top(index: KnowledgeIndex, query: str) -> int:
    matches = index.match(query)
    return int(matches[0].entry.id[1:]) if matches else -1


def _extract_one(query: str, questions: list[str]) -> int:
    found = process.extractOne(query, questions)
    return int(found[2]) if found else -1


def run_size(n: int, n_queries: int) -> dict[str, Any]:
    """All measurements for one KB size (meant to run in a fresh process)."""
    load_before = os.getloadavg()[0]
    segment.default_segmenter().initialize()
    entries = make_entries(n)
    queries = make_queries(entries, n_queries)
    gc.collect()
    before = _rss_mb()
    started = time.perf_counter()
    index = KnowledgeIndex.build(entries)
    build_s = time.perf_counter() - started
    gc.collect()
    result: dict[str, Any] = {
        "n": n,
        "build_s": build_s,
        "index_mb": _rss_mb() - before,
        "ours": _latencies(lambda q: _top(index, q), queries),
    }
    sample = queries[: BASELINE_QUERIES.get(n, 20)]
    questions = [e.question for e in entries]
    result["extract_one"] = _latencies(lambda q: _extract_one(q, questions), sample)
    tokens = [list(index.analyse(q).words) for q in questions]
    started = time.perf_counter()
    bm25 = BM25Okapi(tokens)
    result["bm25_build_s"] = time.perf_counter() - started
    result["rank_bm25"] = _latencies(
        lambda q: int(bm25.get_scores(list(index.analyse(q).words)).argmax()), sample
    )
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["calibration_s"] = _calibration_s(entries)  # after the peak: it builds a 2nd index
    result["load"] = (load_before, os.getloadavg()[0])
    return result


# The targets: (label, size, figure, limit, higher is better).
TARGETS = (
    ("p99 at 100k < 2 ms", 100000, lambda r: r["ours"]["p99_ms"], 2.0, False),
    ("x rank_bm25 at 10k >= 20 (median)", 10000, lambda r: _ratio(r, "rank_bm25"), 20.0, True),
    ("index at 100k < 100 MB", 100000, lambda r: r["index_mb"], 100.0, False),
    ("build at 10k: seconds (< 10 s)", 10000, lambda r: r["build_s"], 10.0, False),
    ("calibration at 10k: seconds (< 5 s)", 10000, lambda r: r["calibration_s"], 5.0, False),
)


def _ratio(r: dict[str, Any], baseline: str) -> float:
    """How many times faster ours is than a baseline, by median latency."""
    return float(r[baseline]["median_ms"]) / float(r["ours"]["median_ms"])


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def report(results: Sequence[dict[str, Any]]) -> None:
    """One compact table (latencies in ms, x = times faster than the baseline), then targets."""
    print(
        f"{'entries':>8} {'build s':>7} {'idx MB':>6} {'peak MB':>7} {'calib s':>7} | "
        f"{'ours med':>8} {'p99':>6} {'hit':>5} | {'extractOne':>10} {'x':>6} {'hit':>5} | "
        f"{'rank_bm25':>9} {'x':>6} {'hit':>5} | load (1 min) during"
    )
    for r in results:
        ours, fuzzy, bm25 = r["ours"], r["extract_one"], r["rank_bm25"]
        print(
            f"{r['n']:>8,} {r['build_s']:>7.2f} {r['index_mb']:>6.1f} "
            f"{r['peak_rss_mb']:>7.0f} {r['calibration_s']:>7.2f} | "
            f"{ours['median_ms']:>8.3f} {ours['p99_ms']:>6.3f} {ours['hit_at_1']:>5.3f} | "
            f"{fuzzy['median_ms']:>10.3f} {_ratio(r, 'extract_one'):>5.1f}x "
            f"{fuzzy['hit_at_1']:>5.3f} | {bm25['median_ms']:>9.3f} "
            f"{_ratio(r, 'rank_bm25'):>5.1f}x {bm25['hit_at_1']:>5.3f} | "
            f"{r['load'][0]:.2f} -> {r['load'][1]:.2f}"
        )
    by_size = {r["n"]: r for r in results}
    print("targets:")
    for label, n, figure, limit, higher in TARGETS:
        if n not in by_size:
            continue
        value = figure(by_size[n])
        ok = value >= limit if higher else value < limit
        print(f"  {'PASS' if ok else 'FAIL'}  {label}: {value:.2f}")
    print(
        f"load average now {_load()} (figures from a loaded machine run slow; "
        "the ratios hold better than the absolute times)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_size(args.child, args.queries)))
        return 0
    print(
        f"load average at start {_load()}; baselines get fewer queries at large sizes "
        f"({BASELINE_QUERIES}); ours gets {args.queries}",
        flush=True,
    )
    results = []
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n), "--queries", str(args.queries)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    report(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
