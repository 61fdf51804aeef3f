"""Knowledge edits typed into a form: validated into model objects, or a clear Chinese error.

Pure functions (no database): the console calls them before its transaction, so bad input
changes nothing.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from bot.core.errors import UsageError
from knowledge.model import (
    ATTACHMENT_KINDS,
    SCOPES,
    Attachment,
    FaqEntry,
    KeywordRule,
    QuickReply,
    Synonyms,
)
from knowledge.tables import TAG_MAX

Form = Mapping[str, str]
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# Words the pages' URLs use (/rules/new, /rules/test): never an item's id.
RESERVED_IDS = frozenset({"new", "test", "delete"})
QUESTION_MAX = 200
ANSWER_MAX = 2000  # a kf text message holds 2048 bytes of UTF-8 at most: keep clear of it
SIMILAR_MAX = 300
TERM_MAX = 50
TERMS_MAX = 100
NAME_MAX = 100
CAUTION_MAX = 500
URL_MAX = 2000
# Lists typed one per line, or separated by |, ；, 、 or commas (terms only).
_LINES = re.compile(r"[\r\n|｜]+")
_TERMS = re.compile(r"[\r\n|｜;；、,，\s]+")
_SYNONYM_LINE = re.compile(r"\s*([^:：=\s][^:：=]*?)\s*[:：=]\s*(.*)$")
_TRUE = {"1", "on", "true", "yes", "是"}
KIND_LABEL = {"link": "图文链接", "image": "图片", "miniprogram": "小程序"}
SCOPE_LABEL = {"corp": "全公司", "department": "部门", "personal": "个人"}


def text(form: Form, name: str, label: str, *, limit: int, required: bool = False) -> str:
    """A trimmed text field, within its limit."""
    value = str(form.get(name, "")).strip()
    if required and not value:
        raise UsageError(f"请填写{label}")
    if len(value) > limit:
        raise UsageError(f"{label}太长：{len(value)} 个字，最多 {limit} 个字")
    return value


def flag(form: Form, name: str) -> bool:
    """A checkbox."""
    return str(form.get(name, "")).strip().lower() in _TRUE


def terms(form: Form, name: str, label: str, *, limit: int = TERM_MAX) -> tuple[str, ...]:
    """Words separated by line breaks, spaces, commas, 、 or |; duplicates dropped."""
    raw = str(form.get(name, ""))
    found = tuple(dict.fromkeys(t for t in _TERMS.split(raw) if t))
    return _bounded(found, label, limit)


def lines(form: Form, name: str, label: str, *, limit: int) -> tuple[str, ...]:
    """Sentences one per line (a question may hold commas); duplicates dropped."""
    raw = str(form.get(name, ""))
    found = tuple(dict.fromkeys(" ".join(t.split()) for t in _LINES.split(raw) if t.strip()))
    return _bounded(found, label, limit)


def _bounded(items: tuple[str, ...], label: str, limit: int) -> tuple[str, ...]:
    if len(items) > TERMS_MAX * 3:
        raise UsageError(f"{label}太多：{len(items)} 个，最多 {TERMS_MAX * 3} 个")
    for item in items:
        if len(item) > limit:
            raise UsageError(f"{label}「{item[:20]}…」太长：最多 {limit} 个字")
    return items


def new_id(form: Form, prefix: str) -> str:
    """The id typed for a new item (letters, digits, _ . -), or a generated one."""
    value = str(form.get("id", "")).strip()
    if not value:
        return f"{prefix}-{secrets.token_hex(4)}"
    if not ID_RE.fullmatch(value):
        raise UsageError("编号只能用英文字母、数字、下划线、点和短横线，最多 64 个字符")
    if value in RESERVED_IDS:
        raise UsageError(f"编号不能是 {value}，请换一个")
    return value


def link(form: Form, name: str, label: str) -> str:
    """Empty, or an absolute http(s) link (never javascript: or data:)."""
    value = text(form, name, label, limit=URL_MAX)
    scheme, sep, rest = value.partition("://")
    if value and (not sep or scheme.lower() not in ("http", "https") or not rest.strip("/")):
        raise UsageError(f"{label}必须是 http:// 或 https:// 开头的网址")
    return value


def attachment(form: Form) -> Attachment | None:
    """The optional rich part of an answer."""
    kind = str(form.get("attachment_kind", "")).strip()
    if not kind:
        return None
    if kind not in ATTACHMENT_KINDS:
        raise UsageError("附件类型只能是图文链接、图片或小程序")
    found = Attachment(
        kind,
        title=text(form, "attachment_title", "附件标题", limit=NAME_MAX * 2),
        url=link(form, "attachment_url", "附件链接"),
        pic_url=link(form, "attachment_pic_url", "附件图片地址"),
        desc=text(form, "attachment_desc", "附件描述", limit=CAUTION_MAX),
        appid=text(form, "attachment_appid", "小程序 AppID", limit=64),
        page=text(form, "attachment_page", "小程序页面路径", limit=URL_MAX),
        media_id=text(form, "attachment_media_id", "素材 media_id", limit=256),
    )
    if kind == "link" and not (found.url and found.title):
        raise UsageError("图文链接附件需要标题和链接")
    if kind == "image" and not (found.media_id or found.pic_url):
        raise UsageError("图片附件需要 media_id 或图片地址")
    if kind == "miniprogram" and not (found.appid and found.page and found.title):
        raise UsageError("小程序附件需要标题、AppID 和页面路径")
    return found


def entry(form: Form, entry_id: str) -> FaqEntry:
    """An FAQ entry from the edit form."""
    question = " ".join(text(form, "question", "标准问题", limit=QUESTION_MAX,
                             required=True).split())  # fmt: skip
    similar = tuple(q for q in lines(form, "similar", "相似问题", limit=QUESTION_MAX)
                    if q != question)  # fmt: skip
    if len(similar) > SIMILAR_MAX:
        raise UsageError(f"相似问题太多：{len(similar)} 个，最多 {SIMILAR_MAX} 个")
    return FaqEntry(
        id=entry_id,
        question=question,
        similar=similar,
        answer=text(form, "answer", "答案", limit=ANSWER_MAX, required=True),
        attachment=attachment(form),
        keywords=terms(form, "keywords", "关键词"),
        category=text(form, "category", "分类", limit=NAME_MAX),
        enabled=flag(form, "enabled"),
    )


def rule(form: Form, rule_id: str) -> KeywordRule:
    """A keyword rule from the edit form."""
    phrases = terms(form, "phrases", "触发词")
    if not phrases:
        raise UsageError("请至少填写一个触发词")
    tags = terms(form, "tags", "标签", limit=TAG_MAX)
    raw_priority = str(form.get("priority", "") or "0").strip()
    if not re.fullmatch(r"-?\d{1,3}", raw_priority):
        raise UsageError("优先级请填 -999 到 999 之间的整数")
    found = KeywordRule(
        id=rule_id,
        name=text(form, "name", "规则名称", limit=NAME_MAX, required=True),
        phrases=phrases,
        tags=tags,
        special_care=flag(form, "special_care"),
        caution=text(form, "caution", "提醒客服的话", limit=CAUTION_MAX),
        notify=flag(form, "notify"),
        escalate=flag(form, "escalate"),
        priority=int(raw_priority),
        negations=terms(form, "negations", "排除词"),
    )
    if not (found.tags or found.special_care or found.caution or found.notify
            or found.escalate):  # fmt: skip
        raise UsageError("请至少选择一个动作：打标签、特别关注、提醒、通知或升级")
    return found


def quick_reply(form: Form, reply_id: str) -> QuickReply:
    """A quick reply (话术) from the edit form."""
    scope = str(form.get("scope", "corp")).strip() or "corp"
    if scope not in SCOPES:
        raise UsageError("可见范围只能是全公司、部门或个人")
    owner = text(form, "owner", "所属部门或成员", limit=64) or None
    if scope == "department" and not (owner and owner.isdecimal()):
        raise UsageError("部门话术请填写部门 ID（数字）")
    if scope == "personal" and not owner:
        raise UsageError("个人话术请填写成员账号")
    return QuickReply(
        id=reply_id,
        title=text(form, "title", "标题", limit=NAME_MAX * 2, required=True),
        content=text(form, "content", "话术内容", limit=ANSWER_MAX, required=True),
        category=text(form, "category", "分组", limit=NAME_MAX),
        scope=scope,
        owner=owner if scope != "corp" else None,
        shortcut=text(form, "shortcut", "快捷词", limit=64) or None,
    )


def synonyms(raw: str) -> Synonyms:
    """Domain synonyms typed one group per line: "标准词：同义词1、同义词2"."""
    groups: dict[str, tuple[str, ...]] = {}
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        match = _SYNONYM_LINE.match(line)
        canonical, rest = (match.group(1), match.group(2)) if match else ("", "")
        variants = tuple(dict.fromkeys(v for v in _TERMS.split(rest) if v and v != canonical))
        if not canonical or not variants:
            raise UsageError(f"第 {number} 行写法不对：请写成「标准词：同义词1、同义词2」")
        for word in (canonical, *variants):
            if len(word) > NAME_MAX:
                raise UsageError(f"第 {number} 行的「{word[:20]}…」太长：最多 {NAME_MAX} 个字")
        groups[canonical] = tuple(dict.fromkeys((*groups.get(canonical, ()), *variants)))
    if len(groups) > 5000:
        raise UsageError("同义词组太多：最多 5000 组")
    return Synonyms(groups)


def synonyms_text(table: Synonyms) -> str:
    """The synonym table as the form shows it (what synonyms() reads back)."""
    return "\n".join(f"{c}：{'、'.join(vs)}" for c, vs in table.groups.items())
