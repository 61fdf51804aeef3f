"""Chat archive puller: RSA + pipeline throughput on fake-source records, one process.

Generates N records the way WeCom seals them (a fresh random key per record, RSA-encrypted
with the corp's public key of one of three versions, PKCS#1 v1.5) and pulls them with the
real puller (bot.archive.puller) into a migrated SQLite file (or --database) with the demo
knowledge base live: keyword rules and the FAQ matcher on every customer text, reps' replies
stored as outbound messages, media as references. Tencent's DecryptData is left out: the
records carry the message JSON where the SDK's ciphertext would be, so the source's
decrypt_data is json.loads (what the SDK's result costs us anyway).

Baseline in the same run: the RSA step alone over the same records. Target: >= 2,000
records/s end to end on SQLite, one process. The mix: 50% customers' texts (the demo KB's
labelled questions; one in 20 hits a keyword rule, which tags the customer and notifies the
rep), 35% reps' replies, 10% images, 5% chats between members (skipped).

    .venv/bin/python bench/archive.py [--records 50000] [--batch 1000]
        [--database postgresql+asyncpg://user@host:port/bench_x]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import json
import os
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.archive.keyring import Keyring  # noqa: E402
from bot.archive.puller import Puller  # noqa: E402
from bot.archive.source import EncryptedRecord, MediaChunk  # noqa: E402
from bot.core import db, migrate, resources, tasks  # noqa: E402
from bot.core.clock import Clock  # noqa: E402
from bot.core.keys import CLOCK, DB, INSTANCE, SETTINGS  # noqa: E402
from bot.core.settings import Settings  # noqa: E402
from bot.domain import kb  # noqa: E402
from bot.domain.models import Message  # noqa: E402
from bot.sandbox import fake_archive  # noqa: E402
from bot.sandbox.fake import FakeWeCom  # noqa: E402
from bot.wecom import client  # noqa: E402
from knowledge import demo as demo_kb  # noqa: E402
from knowledge import store  # noqa: E402

TARGET = 2000.0
CORP, SECRET, TOKEN = "wwbencharchive01", "bench-secret", "benchtoken"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
VERSIONS = (1, 2, 3)
REPS = [f"rep{n:02d}" for n in range(20)]
EVAL = Path(__file__).resolve().parent.parent / "knowledge" / "demo" / "eval.csv"


class PlainSource:
    """The fake source with Tencent's DecryptData left out (the JSON is in the clear)."""

    def __init__(self, records: list[EncryptedRecord]) -> None:
        self.records = records

    async def get_chat_data(self, seq: int, limit: int) -> list[EncryptedRecord]:
        return self.records[seq: seq + limit]

    def decrypt_data(self, random_key: str, encrypt_chat_msg: str) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(encrypt_chat_msg)
        return message

    async def get_media_data(self, sdkfileid: str, indexbuf: str) -> MediaChunk:
        return MediaChunk(b"", "", True)

    async def close(self) -> None:
        return None


def generate(count: int) -> tuple[list[EncryptedRecord], int, int]:
    """Sealed records; how many are customers' and reps' messages."""
    with EVAL.open(encoding="utf-8") as fh:
        labelled = [row["query"] for row in csv.DictReader(fh)]
    phrases = [p for rule in demo_kb.load_demo().rules for p in rule.phrases]
    plain = [q for q in labelled if not any(p in q for p in phrases)]
    hitting = [q for q in labelled if any(p in q for p in phrases)]
    publics = {v: fake_archive.private_key(v).public_key() for v in VERSIONS}
    records, customers, reps = [], 0, 0
    now = int(time.time() * 1000)
    for n in range(count):
        euid, rep = f"wmbench{n % 2000:06d}", REPS[n % len(REPS)]
        kind = n % 20
        if kind < 10:
            pool = hitting if customers % 20 == 0 else plain  # one customer text in 20
            msg = fake_archive.message(f"b{n}", euid, rep, "text",
                                       {"content": pool[n % len(pool)]}, now)
            customers += 1
        elif kind < 17:
            reply = {"content": "好的，马上为您处理"}
            msg = fake_archive.message(f"b{n}", rep, euid, "text", reply, now)
            reps += 1
        elif kind < 19:
            body = {"sdkfileid": base64.b64encode(os.urandom(24)).decode(), "md5sum": "0" * 32,
                    "filesize": 2048}  # fmt: skip
            msg = fake_archive.message(f"b{n}", euid, rep, "image", body, now)
            customers += 1
        else:
            msg = fake_archive.message(f"b{n}", rep, REPS[(n + 1) % len(REPS)], "text",
                                       {"content": "内部沟通"}, now)  # fmt: skip
        version = VERSIONS[n % 3]
        sealed = publics[version].encrypt(secrets.token_hex(16).encode(), padding.PKCS1v15())
        records.append(EncryptedRecord(n + 1, msg["msgid"], version,
                                       base64.b64encode(sealed).decode(), json.dumps(msg)))
    return records, customers, reps


async def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    url = args.database or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    migrate.upgrade(url)
    engine = db.create_engine(url)
    async with db.create_sessionmaker(engine).begin() as session:
        await store.replace_kb(session, demo_kb.load_demo())
    await engine.dispose()

    fake = FakeWeCom(corp_id=CORP, secret=SECRET, token=TOKEN, aes_key=AES_KEY, agent_id=1)
    fake_runner = web.AppRunner(fake.app)
    await fake_runner.setup()
    site = web.TCPSite(fake_runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    settings = Settings(corp_id=CORP, agent_id=1, secret=SECRET, token=TOKEN, aes_key=AES_KEY,
                        database_url=url, wecom_api_base=f"http://127.0.0.1:{port}",
                        archive_batch=args.batch, log_level="WARNING")  # fmt: skip
    app = web.Application()
    app[SETTINGS], app[CLOCK], app[INSTANCE] = settings, Clock(), uuid.uuid4().hex[:12]
    app.cleanup_ctx.extend([resources.http_ctx, resources.cache_ctx, resources.db_ctx,
                            client.wecom_ctx, kb.kb_ctx, tasks.tasks_ctx])  # fmt: skip
    runner = web.AppRunner(app)
    await runner.setup()

    print(f"generating {args.records:,} sealed records (3 key versions) ...", flush=True)
    records, customers, reps = generate(args.records)
    keys = Keyring({v: fake_archive.private_key(v) for v in VERSIONS})

    started, cpu0 = time.perf_counter(), time.process_time()
    for r in records:
        keys.open_random_key(r.publickey_ver, r.encrypt_random_key)
    rsa_rate = len(records) / (time.perf_counter() - started)
    rsa_cpu_rate = len(records) / (time.process_time() - cpu0)

    puller = Puller(app, PlainSource(records), keys)
    started, cpu0 = time.perf_counter(), time.process_time()
    steps = 0
    while (await puller.step()).state == "pulled":
        steps += 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    async with app[DB]() as session:
        stored_in = await session.scalar(select(func.count(Message.id))
                                         .where(Message.direction == "in"))  # fmt: skip
        stored_out = await session.scalar(select(func.count(Message.id))
                                          .where(Message.direction == "out"))  # fmt: skip
    await runner.cleanup()
    await fake_runner.cleanup()

    rate = len(records) / elapsed
    print(f"database: {url.split(':')[0]}   records: {len(records):,}   batch: {args.batch}   "
          f"steps: {steps}   load average: {os.getloadavg()[0]:.1f}")
    print(f"RSA alone (baseline):       {rsa_rate:9,.0f} records/s   "
          f"({rsa_cpu_rate:,.0f} records per CPU-second)")
    print(f"RSA + pipeline (puller):    {rate:9,.0f} records/s   ({elapsed:.1f} s wall, "
          f"{cpu:.1f} s CPU: {len(records) / cpu:,.0f} records per CPU-second)")
    print(f"puller / RSA alone: {rate / rsa_rate:.2f} by wall time, "
          f"{len(records) / cpu / rsa_cpu_rate:.2f} by CPU")
    print(f"stored: {stored_in:,} customer messages, {stored_out:,} reps' replies")
    ok = stored_in == customers and stored_out == reps
    print(f"target >= {TARGET:,.0f} records/s: {'met' if rate >= TARGET else 'NOT met'}")
    if not ok:
        print(f"FAILURE: expected {customers:,} customer messages and {reps:,} replies")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--database", default="")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
