"""What the benchmarks send and what the database and the fake WeCom know before they do.

A `World` is a small corp (reps, their customers, a tag library, open follow-ups); `Forge`
turns decrypted callback XML into signed, encrypted requests as WeCom posts them; `mix` builds
a list of distinct callbacks in the proportions of `MIX`. Building a mix also adds to the
world what those callbacks need the fake to know: the customers who will add a rep, and the
kf messages each kf notice announces.
"""

from __future__ import annotations

import itertools
import json
import random
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot.sandbox import fake_xml
from bot.wecom.crypto import WeComCrypto

CORP_ID = "wwbench0000000001"
AGENT_ID = 1000002
SECRET = "bench-app-secret"
TOKEN = "benchtoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CALLBACK_PATH = "/wecom/callback"

# The corp tag library (ids as WeCom would give them), one group.
TAG_GROUP = ("etBENCHGROUP0001", "客户标签")
TAGS = (
    ("etBENCHTAG000001", "VIP"), ("etBENCHTAG000002", "高意向"),
    ("etBENCHTAG000003", "老客户"), ("etBENCHTAG000004", "已成交"),
    ("etBENCHTAG000005", "潜在客户"), ("etBENCHTAG000006", "价格敏感"),
    ("etBENCHTAG000007", "复购"), ("etBENCHTAG000008", "待回访"),
)  # fmt: skip
# 活码 states of the demo channels (bot/sandbox/demo_channels.yaml), and none.
STATES = ("douyin", "xiaohongshu", "store", "")
KF_ACCOUNTS = ("wkBENCHKF0000001", "wkBENCHKF0000002", "wkBENCHKF0000003")

# Share of each kind of callback in the mix, in percent.
MIX: tuple[tuple[str, int], ...] = (
    ("text", 15),  # a rep's plain text to the app: the /help hint
    ("/note", 10),  # writes a note
    ("/follow", 10),  # writes a follow-up with a due time
    ("/tag", 10),  # writes a customer tag and records a mark_tag effect
    ("/todo", 10),  # reads the rep's open follow-ups
    ("/find", 10),  # reads: the rep's customers by name or tag
    ("add_contact", 15),  # add_external_contact with a WelcomeCode and a 活码 state
    ("kf", 20),  # kf_msg_or_event announcing one customer text
)
# Kinds whose HTTP answer carries a passive reply (else an empty body).
REPLYING = frozenset(kind for kind, _ in MIX if kind == "text" or kind.startswith("/"))

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ("芳", "伟", "静", "磊", "敏", "洋", "丽", "强", "婷", "杰", "娟", "涛", "雪", "鹏")
APP_TEXTS = ("你好", "在吗", "今天有新客户吗", "帮我看看", "早上好", "怎么用这个助手")
FOLLOW_TEXTS = (("回电确认报价", "明天10点"), ("发新品资料", "3天后"), ("约到店体验", "周五下午"),
                ("确认收货情况", "下周一9点"))  # fmt: skip
# kf texts: questions the demo knowledge base answers, ones it does not, and asks for a person.
KF_KNOWN = ("什么时候发货", "我的快递到哪了", "能发顺丰吗", "地址填错了", "可以退货吗",
            "退款什么时候到", "保证正品吗", "开封后能用多久", "需要放冰箱吗",
            "有小样吗")  # fmt: skip
KF_UNKNOWN = ("你们老板是谁", "周末门店几点关门", "可以开发票到公司吗", "这个和别家比怎么样")
KF_HUMAN = ("转人工", "我要找人工客服")


@dataclass(frozen=True)
class Callback:
    """One signed, encrypted callback: its kind, the request target and the envelope."""

    kind: str
    target: str
    body: str
    ref: str = ""  # the WelcomeCode of an add event


@dataclass
class Customer:
    """A seeded customer of one rep."""

    external_userid: str
    name: str
    rep: str
    tags: list[str] = field(default_factory=list)


@dataclass
class World:
    """The corp the benchmarks run against; seeded into the database and the fake alike."""

    reps: list[tuple[str, str]]
    customers: list[Customer]
    # Customers who add a rep during the run: (external_userid, name, rep, state).
    newcomers: list[tuple[str, str, str, str]] = field(default_factory=list)
    # kf notice Token -> (open_kfid, external_userid, text) of the message it announces.
    kf_news: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    followups_per_rep: int = 8

    @classmethod
    def build(cls, reps: int, customers_per_rep: int, seed: int = 7) -> World:
        """reps x customers_per_rep customers, about a third of them tagged."""
        rng = random.Random(seed)
        rep_rows = [(f"rep{i:02d}", f"顾问{i:02d}") for i in range(reps)]
        customers = []
        for r, (userid, _) in enumerate(rep_rows):
            for i in range(customers_per_rep):
                name = f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{r:02d}{i:03d}"
                tags = rng.sample([t for t, _ in TAGS], k=rng.choice((0, 0, 1, 2)))
                customers.append(Customer(f"wmBENCH{r:02d}{i:05d}", name, userid, tags))
        return cls(rep_rows, customers)

    def fake_seed(self) -> dict[str, object]:
        """What the standalone fake must know (see bench/fake_wecom.py)."""
        names = dict(TAGS)
        return {
            "members": [[u, n] for u, n in self.reps],
            "tag_group": {"id": TAG_GROUP[0], "name": TAG_GROUP[1],
                          "tags": [list(t) for t in TAGS]},
            "contacts": [
                [c.external_userid, c.name, c.rep, "", [[t, names[t]] for t in c.tags]]
                for c in self.customers
            ] + [[e, n, r, s, []] for e, n, r, s in self.newcomers],
            "kf_news": self.kf_news,
        }  # fmt: skip

    def write_fake_seed(self, path: Path) -> None:
        """The fake's seed file."""
        path.write_text(json.dumps(self.fake_seed(), ensure_ascii=False))


class Forge:
    """Signs and encrypts callbacks as WeCom does; every one distinct (MsgId, Token, code)."""

    def __init__(self) -> None:
        self.crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        """A number never used before by this forge."""
        return next(self._ids)

    def sign(self, kind: str, plain: bytes, timestamp: int) -> Callback:
        """The request WeCom would POST for this decrypted XML."""
        encrypt = self.crypto.encrypt(plain)
        ts, nonce = str(timestamp), str(secrets.randbelow(10**10))
        sig = self.crypto.signature(ts, nonce, encrypt)
        target = f"{CALLBACK_PATH}?msg_signature={sig}&timestamp={ts}&nonce={nonce}"
        body = (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>"
        )
        return Callback(kind, target, body)

    def app_text(self, kind: str, userid: str, text: str, now: int) -> Callback:
        """A member's text (or slash-command) to the app."""
        msgid = 7_000_000_000_000_000_000 + self.next_id()
        plain = fake_xml.render(
            [("ToUserName", CORP_ID), ("FromUserName", userid), ("CreateTime", now),
             ("MsgType", "text"), ("Content", text), ("MsgId", msgid), ("AgentID", AGENT_ID)]
        )  # fmt: skip
        return self.sign(kind, plain, now)

    def add_contact(self, userid: str, euid: str, state: str, code: str, created: int) -> Callback:
        """change_external_contact/add_external_contact with a WelcomeCode."""
        plain = fake_xml.add_external_contact(CORP_ID, userid, euid, state, code)
        signed = self.sign("add_contact", _retime(plain, created), created)
        return Callback(signed.kind, signed.target, signed.body, ref=code)

    def kf_notice(self, open_kfid: str, token: str, now: int) -> Callback:
        """kf_msg_or_event with its sync Token."""
        plain = _retime(fake_xml.kf_event(CORP_ID, open_kfid, token), now)
        return self.sign("kf", plain, now)


def _retime(plain: bytes, created: int) -> bytes:
    """Set CreateTime (fake_xml stamps the time of building)."""
    head, _, rest = plain.partition(b"<CreateTime>")
    _, _, tail = rest.partition(b"</CreateTime>")
    return head + b"<CreateTime>" + str(created).encode() + b"</CreateTime>" + tail


class Mixer:
    """Builds mixes of distinct callbacks against one world."""

    def __init__(self, world: World, forge: Forge, seed: int = 11) -> None:
        self.world = world
        self.forge = forge
        self.rng = random.Random(seed)
        self._by_rep: dict[str, list[Customer]] = {}
        for c in world.customers:
            self._by_rep.setdefault(c.rep, []).append(c)
        # (customer, tag) pairs not tagged yet, so every /tag writes.
        pairs = [(c, t) for c in world.customers for t, _ in TAGS if t not in c.tags]
        self.rng.shuffle(pairs)
        self._untagged = iter(pairs)
        self._kf_seq = itertools.count()

    def kinds(self, n: int, mix: tuple[tuple[str, int], ...] = MIX) -> list[str]:
        """n kinds in the mix's proportions; every block of 100 holds the exact shares."""
        block = [kind for kind, share in mix for _ in range(share)]
        out: list[str] = []
        while len(out) < n:
            self.rng.shuffle(block)
            out.extend(block)
        return out[:n]

    def build(self, kinds: list[str], created: int) -> list[Callback]:
        """One distinct callback per kind; add events carry CreateTime `created`."""
        return [self.one(kind, created) for kind in kinds]

    def one(self, kind: str, created: int) -> Callback:
        """A fresh callback of this kind."""
        rng, forge = self.rng, self.forge
        userid, _ = rng.choice(self.world.reps)
        customer = rng.choice(self._by_rep[userid])
        if kind == "text":
            return forge.app_text(kind, userid, rng.choice(APP_TEXTS), created)
        if kind == "/note":
            text = f"/note {customer.name} 喜欢下午联系，预算{rng.randint(2, 9)}千"
            return forge.app_text(kind, userid, text, created)
        if kind == "/follow":
            what, when = rng.choice(FOLLOW_TEXTS)
            return forge.app_text(kind, userid, f"/follow {customer.name} {what} {when}", created)
        if kind == "/tag":
            target, tag = next(self._untagged)
            name = dict(TAGS)[tag]
            return forge.app_text(kind, target.rep, f"/tag {target.name} {name}", created)
        if kind == "/todo":
            return forge.app_text(kind, userid, "/todo", created)
        if kind == "/find":
            query = rng.choice([dict(TAGS)[t] for t, _ in TAGS] + [customer.name[:1]])
            return forge.app_text(kind, userid, f"/find {query}", created)
        if kind == "add_contact":
            return self.newcomer(created)
        if kind == "kf":
            return self.kf(created)
        raise ValueError(f"unknown kind {kind!r}")

    def newcomer(self, created: int, state: str | None = None) -> Callback:
        """A new customer adds a rep through a 活码: the fake knows them from the seed."""
        return self.sign_add(self.plan_newcomer(state), created)

    def plan_newcomer(self, state: str | None = None) -> tuple[str, str, str, str, str]:
        """A customer who will add a rep: (external_userid, name, rep, state, WelcomeCode)."""
        n = self.forge.next_id()
        userid, _ = self.rng.choice(self.world.reps)
        state = self.rng.choice(STATES) if state is None else state
        euid, name = f"wmNEW{n:09d}", f"新客{n}"
        self.world.newcomers.append((euid, name, userid, state))
        return euid, name, userid, state, f"WELCOMEBENCH{n:012d}"

    def sign_add(self, plan: tuple[str, str, str, str, str], created: int) -> Callback:
        """The add event of a planned newcomer, with its CreateTime."""
        euid, _, userid, state, code = plan
        return self.forge.add_contact(userid, euid, state, code, created)

    def kf(self, created: int) -> Callback:
        """A kf customer's text, announced by a notice with a fresh Token (two per customer)."""
        n = self.forge.next_id()
        kfid = KF_ACCOUNTS[n % len(KF_ACCOUNTS)]
        roll = self.rng.random()
        pool = KF_KNOWN if roll < 0.6 else KF_UNKNOWN if roll < 0.85 else KF_HUMAN
        token = f"BENCHKF{n:012d}{secrets.token_hex(8)}"
        customer = f"wmKF{next(self._kf_seq) // 2:09d}"
        self.world.kf_news[token] = (kfid, customer, self.rng.choice(pool))
        return self.forge.kf_notice(kfid, token, created)


def write_requests(path: Path, callbacks: list[Callback]) -> None:
    """One request a line, "target<TAB>body", for bench/wrk_mix.lua."""
    with path.open("w") as out:
        for cb in callbacks:
            out.write(f"{cb.target}\t{cb.body}\n")


def followup_due(i: int) -> timedelta:
    """Seeded follow-ups: a quarter overdue, the rest due within two weeks."""
    return timedelta(hours=-24 * (i % 3 + 1)) if i % 4 == 0 else timedelta(hours=20 * i)
