"""Small helpers the issue-12 pages share for reading forms and showing WeCom refusals."""

from __future__ import annotations

from typing import Any

from bot.core.errors import UsageError, WeComError
from bot.wecom import errcodes


def text(form: Any, name: str, limit: int = 4000) -> str:
    """One text field, stripped; longer than `limit` is refused (no silent cut)."""
    value = form.get(name, "")
    value = value.strip() if isinstance(value, str) else ""
    if len(value) > limit:
        raise UsageError(f"内容太长（最多 {limit} 个字）")
    return value


def values(form: Any, name: str) -> list[str]:
    """Every value of a repeated field (checkboxes), in order, without blanks or repeats."""
    found = [v.strip() for v in form.getall(name, []) if isinstance(v, str)]
    return list(dict.fromkeys(v for v in found if v))


def checked(form: Any, name: str) -> bool:
    """A checkbox: present and not "0"/"false"."""
    return str(form.get(name, "")).strip() not in ("", "0", "false", "off")


def require_confirm(form: Any) -> None:
    """A delete form's "confirm" box must be ticked (the browser asks too; this is the rule)."""
    if not checked(form, "confirm"):
        raise UsageError("请先勾选确认删除")


def refused(exc: WeComError, what: str) -> UsageError:
    """A WeCom refusal as the admin reads it: what failed, why, and that nothing was saved."""
    return UsageError(f"企业微信没有{what}：{errcodes.describe(exc.errcode)}。没有保存任何改动")
