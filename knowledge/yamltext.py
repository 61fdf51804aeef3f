"""YAML that people type or upload (KB files, SOP rules): safe_load without references.

An alias is expanded wherever the data is walked, so a 1 KB text of nested aliases reads as
billions of items; nothing we write or document uses one, so they are refused.
"""

from __future__ import annotations

from typing import Any

import yaml


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            line = self.peek_event().start_mark.line + 1  # type: ignore[no-untyped-call]
            raise yaml.YAMLError(f"第 {line} 行：不支持引用（*名称），请把内容直接写出来")
        return super().compose_node(parent, index)


def load(text: str) -> Any:
    """The document, as yaml.safe_load reads it; yaml.YAMLError for an alias or bad YAML."""
    return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
