"""KB import accepted values that failed later: a rule tag over 30 characters (WeCom's limit)
failed at runtime on every hit, and a `javascript:` attachment URL was sent to customers as a
link. Both are now refused at import, with the row and column, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import io
from knowledge.errors import ImportValidationError

LONG_TAG = "对酒精和香精都过敏需要特别小心的敏感肌肤客户群体标签备注说明文"  # 31 characters


def test_a_rule_tag_wecom_cannot_hold_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.csv"
    path.write_text(
        "id,name,phrases,tags\nallergy,过敏,过敏,过敏体质\n"
        f"sensitive,敏感,敏感,{LONG_TAG}\n",
        encoding="utf-8",
    )
    assert len(LONG_TAG) == 31
    with pytest.raises(ImportValidationError) as info:
        io.read_kb(path)
    (error,) = info.value.errors
    assert (error.row, error.column) == (3, "tags")
    assert "企业微信最多 30 个" in error.message


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,hi", "ftp://x.example/a",
     "//evil.example/a", "https://"],
)  # fmt: skip
def test_only_web_links_are_accepted_as_attachments(tmp_path: Path, url: str) -> None:
    path = tmp_path / "entries.csv"
    path.write_text(
        "id,question,answer,attachment_kind,attachment_title,attachment_url\n"
        f'gift,新人礼包怎么领,点链接领取,link,新人礼包,"{url}"\n',
        encoding="utf-8",
    )
    with pytest.raises(ImportValidationError) as info:
        io.read_kb(path)
    (error,) = info.value.errors
    assert (error.row, error.column) == (2, "attachment_url")
    assert "不是 http(s) 链接" in error.message


def test_a_web_link_still_imports(tmp_path: Path) -> None:
    path = tmp_path / "entries.csv"
    path.write_text(
        "id,question,answer,attachment_kind,attachment_title,attachment_url\n"
        "gift,新人礼包怎么领,点链接领取,link,新人礼包,https://shop.example/gift\n",
        encoding="utf-8",
    )
    (entry,) = io.read_kb(path).entries
    assert entry.attachment is not None
    assert entry.attachment.url == "https://shop.example/gift"
