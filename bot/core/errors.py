"""Error types shared across the product.

`UserError` and its subclasses carry a message that is safe to show a user as is (Chinese).
Anything else is a bug or an outage: it is logged and the user sees a reference number only.
"""

from __future__ import annotations


class UserError(Exception):
    """An error whose message is safe, user-facing Chinese text.

    `chat_hint` is a next step phrased for the app chat ("发 /sop 查看规则列表"): the command
    face adds it (`for_chat`); the sidebar and the console, which have no slash-commands, do not.
    """

    code = "bad_request"
    status = 400

    def __init__(self, message: str, *, chat_hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.chat_hint = chat_hint

    @property
    def for_chat(self) -> str:
        """The message as the app chat shows it, with its chat hint."""
        return f"{self.message}，{self.chat_hint}" if self.chat_hint else self.message


class UsageError(UserError):
    """The caller gave bad or missing arguments."""

    code = "usage"
    status = 400


class PermissionDeniedError(UserError):
    """The caller's role or ownership does not allow the action."""

    code = "forbidden"
    status = 403


class NotFoundError(UserError):
    """The thing the caller named does not exist (for them)."""

    code = "not_found"
    status = 404


class ConfigError(Exception):
    """A setting is missing or malformed; start-up must stop with this one line."""


class WeComError(Exception):
    """A WeCom API call answered with a non-zero errcode (or could not be made)."""

    def __init__(self, errcode: int, errmsg: str, path: str) -> None:
        super().__init__(f"WeCom {path} errcode={errcode} errmsg={errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path
