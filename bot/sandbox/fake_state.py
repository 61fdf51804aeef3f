"""The fake WeCom's in-memory state, and the errcodes it answers with."""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

# Errcodes the fake answers with. Those marked (fake) are our choice where WeCom's exact code
# is unverified; callers must not depend on them beyond "non-zero".
INVALID_SECRET = 40001
INVALID_CORPID = 40013
INVALID_TOKEN = 40014
INVALID_CODE = 40029
INVALID_CHATID = 40050  # (fake) groupchat/get with an unknown chat_id
INVALID_MSGTYPE = 40008
INVALID_AGENTID = 40056
INVALID_PARAM = 40058
INVALID_TAG = 40068
TAG_EXISTS = 40071
MISSING_TOKEN = 41001
WELCOME_USED = 41051
TOKEN_EXPIRED = 42001
JSON_ERROR = 47001
INVALID_PARTY = 60123
USER_NOT_FOUND = 60111
NO_RELATION = 84061
KF_LIMIT = 95001  # (fake) more than 5 kf messages since the customer's last one
KF_BAD_STATE = 95018  # (fake) kf/send_msg outside states 0/1


class FakeApiError(Exception):
    """A non-zero errcode answer."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass
class FakeState:
    """Everything the fake WeCom remembers."""

    corp_id: str
    secret: str
    agent_id: int
    expires_in: int = 7200
    tokens: dict[str, float] = field(default_factory=dict)  # token -> monotonic expiry
    contacts: dict[str, JSON] = field(default_factory=dict)  # external_userid -> detail
    used_codes: set[str] = field(default_factory=set)  # welcome / kf event codes spent
    groups: dict[str, JSON] = field(default_factory=dict)  # tag group_id -> group
    kf_msgs: dict[str, list[JSON]] = field(default_factory=dict)  # open_kfid -> messages
    kf_state: dict[tuple[str, str], JSON] = field(default_factory=dict)
    kf_sends: dict[tuple[str, str], int] = field(default_factory=dict)
    kf_page_max: int = 1000  # sync_msg pages at most this many (tests make it small)
    oauth_codes: dict[str, str] = field(default_factory=dict)  # code -> userid
    # message/send duplicate check: (touser, msgtype, body) -> (time sent, msgid).
    sent_messages: dict[str, tuple[float, str]] = field(default_factory=dict)
    # kf/send_msg msgids used, per kf account (unique per account).
    kf_msgids: dict[str, set[str]] = field(default_factory=dict)
    group_chats: dict[str, JSON] = field(default_factory=dict)  # chat_id -> group_chat
    members: dict[str, JSON] = field(default_factory=dict)  # userid -> user/get answer
    # department id -> {id, name, parentid, order}, as department/list answers it.
    departments: dict[int, JSON] = field(default_factory=dict)
    # open_kfid -> {open_kfid, name, avatar, manage_privilege}, as kf/account/list answers it.
    kf_accounts: dict[str, JSON] = field(default_factory=dict)
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # Issue 12: 联系我 configs (config_id -> contact_way), and where the fake is served (its
    # QR images are served there; set from each API request's own URL).
    contact_ways: dict[str, JSON] = field(default_factory=dict)
    # 企业群发 tasks: msgid -> {sender, external_userid: [...], confirmed: bool}
    mass_tasks: dict[str, JSON] = field(default_factory=dict)
    public_url: str = ""

    def new_id(self, prefix: str) -> str:
        """A unique, WeCom-looking opaque id."""
        return f"{prefix}{next(self.seq):06d}{secrets.token_hex(4)}"

    def issue_token(self) -> str:
        """The current valid token (WeCom repeats it within its life), or a new one."""
        now = time.monotonic()
        for token, expiry in self.tokens.items():
            if expiry > now:
                return token
        token = secrets.token_urlsafe(48)
        self.tokens[token] = now + self.expires_in
        return token

    def check_token(self, token: str | None) -> None:
        """Raise the errcode WeCom gives for a missing, unknown or expired token."""
        if not token:
            raise FakeApiError(MISSING_TOKEN, "access_token missing")
        expiry = self.tokens.get(token)
        if expiry is None:
            raise FakeApiError(INVALID_TOKEN, "invalid access_token")
        if expiry <= time.monotonic():
            raise FakeApiError(TOKEN_EXPIRED, "access_token expired")

    def follow(self, userid: str, external_userid: str) -> JSON:
        """The stored (mutable) follow_user entry linking member and customer, else 84061."""
        contact = self.contacts.get(external_userid)
        for entry in contact["follow_user"] if contact else ():
            if entry["userid"] == userid:
                found: JSON = entry
                return found
        raise FakeApiError(NO_RELATION, "not external contact")

    def all_tags(self) -> dict[str, tuple[JSON, JSON]]:
        """tag id -> (group, tag) for every live tag."""
        return {t["id"]: (g, t) for g in self.groups.values() for t in g["tag"]}

    def add_member(
        self, userid: str, name: str, departments: list[int], *,
        main_department: int | None = None, position: str = "", status: int = 1,
    ) -> JSON:  # fmt: skip
        """Store a member as user/get answers it (WeCom's field names); returns the entry."""
        depts = list(dict.fromkeys(departments))
        member: JSON = {
            "userid": userid, "name": name, "department": depts, "order": [0] * len(depts),
            "position": position, "gender": "0", "status": status, "isleader": 0,
            "is_leader_in_dept": [0] * len(depts), "direct_leader": [],
            "main_department": main_department if main_department is not None
            else (depts[0] if depts else 1),
            "alias": "", "telephone": "", "enable": 1,
        }  # fmt: skip
        self.members[userid] = member
        for dept in depts:  # a member's departments exist in the address book
            self.departments.setdefault(
                dept, {"id": dept, "name": f"部门{dept}", "parentid": 0 if dept == 1 else 1,
                       "order": 0},
            )  # fmt: skip
        return member

    def add_department(self, dept_id: int, name: str, parent_id: int = 1) -> JSON:
        """Store a department as department/list answers it (the root, 1, has parent 0)."""
        entry: JSON = {"id": dept_id, "name": name, "parentid": 0 if dept_id == 1 else parent_id,
                       "order": 0}  # fmt: skip
        self.departments[dept_id] = entry
        return entry
