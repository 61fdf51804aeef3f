"""Settings errors as one bilingual line each: `配置错误 config error: NAME: 中文 (English)`.

pydantic's own messages ("Input should be a valid integer", "Value error, ...") are English
and name the Python field; an operator reads the variable they set, in both languages.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo

PREFIX = "配置错误 config error"


class BilingualValueError(ValueError):
    """A validator's complaint, already in both languages: `中文 (English)`."""

    def __init__(self, chinese: str, english: str) -> None:
        super().__init__(f"{chinese} ({english})")


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _bounds(kind: str, ctx: dict[str, Any]) -> str | None:
    texts = {
        "greater_than": ("gt", "应大于 {v}", "must be greater than {v}"),
        "greater_than_equal": ("ge", "应不小于 {v}", "must be at least {v}"),
        "less_than": ("lt", "应小于 {v}", "must be less than {v}"),
        "less_than_equal": ("le", "应不大于 {v}", "must be at most {v}"),
    }
    if kind not in texts:
        return None
    key, chinese, english = texts[kind]
    value = _num(ctx.get(key))
    return f"{chinese.format(v=value)} ({english.format(v=value)})"


_BY_TYPE = {
    "int_parsing": "应为整数 (must be a whole number)",
    "int_type": "应为整数 (must be a whole number)",
    "int_from_float": "应为整数 (must be a whole number)",
    "float_parsing": "应为数字 (must be a number)",
    "float_type": "应为数字 (must be a number)",
    "bool_parsing": "应为 1 或 0 (must be a boolean: 1/0, true/false, yes/no)",
    "bool_type": "应为 1 或 0 (must be a boolean: 1/0, true/false, yes/no)",
    "string_type": "应为文本 (must be text)",
    "missing": "未设置 (required)",
}


def explain(error: Any) -> str:
    """One pydantic error as `中文 (English)`."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "value_error" and isinstance(ctx.get("error"), ValueError):
        return str(ctx["error"])
    bound = _bounds(kind, ctx)
    if bound is not None:
        return bound
    return _BY_TYPE.get(kind, f"取值无效 (invalid value: {error.get('msg', kind)})")


def env_name(field: str, fields: dict[str, FieldInfo]) -> str:
    """The environment variable an operator sets for a settings field."""
    info = fields.get(field)
    choices = getattr(info.validation_alias, "choices", None) if info is not None else None
    return str(choices[0]) if choices else field.upper()


def lines(exc: ValidationError, fields: dict[str, FieldInfo]) -> list[str]:
    """One line per bad variable, in the order pydantic found them."""
    seen: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        seen.setdefault(env_name(field, fields), explain(error))
    return [f"{PREFIX}: {name}: {text}" for name, text in seen.items()]
