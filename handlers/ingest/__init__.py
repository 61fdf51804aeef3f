"""POST /ingest/messages: decrypted 会话存档 messages (JSON lines) into the customer pipeline.

The archive itself needs Tencent's Finance SDK, so the company's own puller decrypts and posts
here (format: docs/flows.md). Customer texts of 1:1 chats get rule hits and stored suggestions;
nothing is ever sent to the customer from here.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.core.keys import SETTINGS
from bot.domain import pipeline

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()

MAX_LINES = 5000
# Column widths: message.source_msgid, and the userids (customer and member ids) we store.
MSGID_MAX = 128
USERID_MAX = 64
# WeCom external_userids start with "wo" or "wm"; members' userids are chosen by the corp.
EXTERNAL_PREFIXES = ("wo", "wm")


class LineError(ValueError):
    """One input line is not a usable archive message."""


@dataclass(frozen=True)
class ArchiveText:
    """A customer's text in a 1:1 chat with a rep."""

    msgid: str
    external_userid: str
    userid: str
    text: str


@dataclass
class Report:
    """What happened to each line of one request."""

    accepted: int = 0
    duplicates: int = 0
    skipped: int = 0
    rule_hits: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The response body."""
        return {"accepted": self.accepted, "duplicates": self.duplicates,
                "skipped": self.skipped, "rule_hits": self.rule_hits,
                "errors": self.errors}  # fmt: skip


def is_external(userid: str) -> bool:
    """Whether an archive party is an external contact (a customer)."""
    return userid.startswith(EXTERNAL_PREFIXES)


def _text_field(item: dict[str, Any], name: str, max_len: int) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise LineError(f"{name} must be a non-empty string")
    if len(value) > max_len:
        raise LineError(f"{name} is longer than {max_len} characters")
    if "\x00" in value:  # PostgreSQL text cannot hold it
        raise LineError(f"{name} must not contain NUL (U+0000)")
    return value


def parse_line(line: str) -> ArchiveText | None:
    """One archive message; None when valid but not a customer's 1:1 text (skipped)."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LineError(f"not JSON ({exc.msg})") from None
    except RecursionError:
        raise LineError("not JSON (nested too deeply)") from None
    if not isinstance(item, dict):
        raise LineError("not a JSON object")
    msgid = _text_field(item, "msgid", MSGID_MAX)
    action = item.get("action", "send")
    if action != "send":
        return None  # recall / switch
    sender = _text_field(item, "from", USERID_MAX)
    tolist = item.get("tolist")
    if not isinstance(tolist, list) or not all(isinstance(t, str) for t in tolist):
        raise LineError("tolist must be a list of ids")
    if any(len(t) > USERID_MAX for t in tolist):
        raise LineError(f"tolist ids must be at most {USERID_MAX} characters")
    if any("\x00" in t for t in tolist):  # PostgreSQL text cannot hold it
        raise LineError("tolist ids must not contain NUL (U+0000)")
    if item.get("roomid") or item.get("msgtype") != "text":
        return None  # group chats and non-text messages carry no customer question here
    body = item.get("text")
    if not isinstance(body, dict) or not isinstance(body.get("content"), str):
        raise LineError("text.content must be a string")
    reps = [t for t in tolist if not is_external(t)]
    if not is_external(sender) or not reps:
        return None  # the rep's own message, or not a rep-customer chat
    return ArchiveText(msgid, sender, reps[0], body["content"])


def _authorised(request: web.Request) -> bool:
    expected = request.app[SETTINGS].ingest_token.get_secret_value()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


@routes.post("/ingest/messages")
async def ingest_messages(request: web.Request) -> web.Response:
    """Feed JSON lines through the pipeline; bad lines are reported, good ones kept."""
    if not _authorised(request):
        logger.warning("ingest: unauthorised request from %s", request.remote)
        return web.json_response({"error": "unauthorized"}, status=401)
    try:
        # UTF-8 whatever charset the request declares (an unknown one must not be a 500).
        lines = (await request.read()).decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return web.json_response({"error": "body must be UTF-8 JSON lines"}, status=400)
    if sum(1 for line in lines if line.strip()) > MAX_LINES:  # blank lines are free
        return web.json_response({"error": f"at most {MAX_LINES} lines per request"}, status=413)
    report = Report()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = parse_line(line)
        except LineError as exc:
            report.errors.append({"line": number, "error": str(exc)})
            continue
        if item is None:
            report.skipped += 1
            continue
        result = await pipeline.handle_customer_text(
            request.app, source="archive", external_userid=item.external_userid,
            text=item.text, userid=item.userid, source_msgid=item.msgid,
        )  # fmt: skip
        report.duplicates += result.duplicate
        report.accepted += not result.duplicate
        report.rule_hits += bool(result.rule_hits) and not result.duplicate
    logger.info(
        "ingest accepted=%d duplicates=%d skipped=%d errors=%d",
        report.accepted, report.duplicates, report.skipped, len(report.errors),
    )  # fmt: skip
    kept = report.accepted + report.duplicates + report.skipped
    status = 400 if report.errors and not kept else 200
    return web.json_response(report.as_json(), status=status)
