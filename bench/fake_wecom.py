"""A standalone fake WeCom for the benchmarks: `FakeWeCom.app` on a loopback port, seeded.

    python bench/fake_wecom.py --port 18001 --seed seed.json

The seed file (`corpus.World.fake_seed`) gives the members, the customers with their reps and
tags, the corp tag library, and the kf news: a kf_msg_or_event notice's Token names the
customer message it announces. That message is queued when the server first pulls with the
Token (kf/sync_msg), i.e. it exists by the time the server looks, as with WeCom, which sends
the notice after the message. Besides the fake's own routes (`/_calls`, `/_faults`, ...):

- `GET /_bench/summary`: calls per path and errcode;
- `GET /_bench/calls?path=externalcontact/send_welcome_msg`: the recorded calls to one path.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpus import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN  # noqa: E402

from bot.sandbox.fake import FakeWeCom  # noqa: E402

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build(seed: dict[str, Any]) -> FakeWeCom:
    """A fake WeCom that knows the seeded corp."""
    fake = FakeWeCom(corp_id=CORP_ID, secret=SECRET, token=TOKEN, aes_key=AES_KEY,
                     agent_id=AGENT_ID)  # fmt: skip
    for userid, name in seed["members"]:
        fake.add_member(userid, name, [2], position="顾问")
    group = seed["tag_group"]
    fake.state.groups[group["id"]] = {
        "group_id": group["id"], "group_name": group["name"], "create_time": 1700000000,
        "order": 0, "deleted": False,
        "tag": [{"id": t, "name": n, "create_time": 1700000000, "order": i, "deleted": False}
                for i, (t, n) in enumerate(group["tags"])],
    }  # fmt: skip
    for euid, name, rep, state, tags in seed["contacts"]:
        tag_rows = [{"group_name": group["name"], "tag_name": n, "tag_id": t, "type": 1}
                    for t, n in tags]  # fmt: skip
        fake.add_contact(euid, name=name, follow_user=[{"userid": rep, "tags": tag_rows}],
                         state=state)  # fmt: skip
    news: dict[str, list[str]] = dict(seed["kf_news"])

    @web.middleware
    async def kf_news(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.endswith("/kf/sync_msg"):
            body = await request.json()  # the body is cached: the fake reads it again
            item = news.pop(str(body.get("token") or ""), None)
            if item is not None:
                kfid, euid, text = item
                fake.queue_kf_text(kfid, euid, text)
        return await handler(request)

    async def summary(request: web.Request) -> web.Response:
        counts = Counter(f"{c['path']} errcode={c['errcode']}" for c in fake.calls)
        return web.json_response(dict(sorted(counts.items())))

    async def calls(request: web.Request) -> web.Response:
        return web.json_response(fake.calls_to(request.query.get("path", "")))

    fake.app.middlewares.append(kf_news)
    fake.app.router.add_get("/_bench/summary", summary)
    fake.app.router.add_get("/_bench/calls", calls)
    return fake


def main() -> None:
    """Serve the seeded fake until terminated."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    fake = build(json.loads(args.seed.read_text()))
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = None
    web.run_app(fake.app, host="127.0.0.1", port=args.port, print=None, access_log=None,
                loop=loop)  # fmt: skip


if __name__ == "__main__":
    main()
