"""The real archive source: Tencent's Finance SDK through pywecomarchive (the `archive` extra).

The library is Linux x86_64/ARM64 only and not a core dependency: it is imported when the
puller starts, and its absence is one clear error. GetChatData and GetMediaData go over the
network, so they run in a thread; DecryptData is local and quick.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from bot.archive import keyring as keyring_module
from bot.archive import native
from bot.archive.keyring import Keyring
from bot.archive.source import (
    LOAD_ERROR,
    ArchiveSDKError,
    ArchiveSource,
    EncryptedRecord,
    MediaChunk,
)
from bot.core.keys import SETTINGS
from bot.core.settings import Settings

logger = logging.getLogger(__name__)


def _raise(operation: str, exc: Exception) -> ArchiveSDKError:
    """Our error for whatever the wrapper raised (never its text: it may echo input)."""
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return ArchiveSDKError(operation, code)
    if isinstance(exc, ValueError):  # the wrapper refused an argument (an empty secret)
        return ArchiveSDKError(operation, 10000, type(exc).__name__)
    return ArchiveSDKError(operation, LOAD_ERROR if operation == "Init" else 10002,
                           type(exc).__name__)  # fmt: skip


class SdkSource:
    """ArchiveSource over pywecomarchive.WecomArchiveSdk (one handle, calls one at a time)."""

    def __init__(self, settings: Settings, *, library_path: str | None = None) -> None:
        try:
            import pywecomarchive
            from pydantic import TypeAdapter
        except ImportError:
            raise ArchiveSDKError("Init", LOAD_ERROR, "pywecomarchive 未安装") from None
        if library_path is None and native.preload() == native.TOO_LATE:
            # Loading it now would abort the whole process: refuse with a clear error instead.
            raise ArchiveSDKError("Init", LOAD_ERROR, "须在进程启动时先加载 (load it first)")
        self._errors: tuple[type[Exception], ...] = (pywecomarchive.SdkError, ValueError)
        self._raw = TypeAdapter(dict[str, Any])
        try:
            self._sdk = pywecomarchive.WecomArchiveSdk(
                settings.corp_id, settings.archive_secret.get_secret_value(),
                proxy=settings.archive_proxy,
                passwd=settings.archive_proxy_password.get_secret_value(),
                timeout=settings.archive_timeout, library_path=library_path,
            )  # fmt: skip
        except self._errors as exc:
            raise _raise("Init", exc) from None
        # The wrapper promises no thread safety: one call at a time, whichever thread runs it.
        self._lock = asyncio.Lock()

    async def get_chat_data(self, seq: int, limit: int) -> list[EncryptedRecord]:
        """GetChatData after seq."""
        async with self._lock:
            try:
                answer = await asyncio.to_thread(self._sdk.get_chat_data, seq, limit)
            except self._errors as exc:
                raise _raise("GetChatData", exc) from None
        return [
            EncryptedRecord(int(r.seq), str(r.msgid), int(r.publickey_ver),
                            str(r.encrypt_random_key), str(r.encrypt_chat_msg))
            for r in answer.chatdata
        ]  # fmt: skip

    def decrypt_data(self, random_key: str, encrypt_chat_msg: str) -> dict[str, Any]:
        """DecryptData: the message JSON as a plain dict (our parser reads every type)."""
        try:
            message: dict[str, Any] = self._sdk.decrypt_data(
                random_key, encrypt_chat_msg, adapter=self._raw
            )
        except self._errors as exc:
            raise _raise("DecryptData", exc) from None
        return message

    async def get_media_data(self, sdkfileid: str, indexbuf: str) -> MediaChunk:
        """GetMediaData from indexbuf."""
        async with self._lock:
            try:
                chunk = await asyncio.to_thread(self._sdk.get_media_data, sdkfileid, indexbuf)
            except self._errors as exc:
                raise _raise("GetMediaData", exc) from None
        return MediaChunk(bytes(chunk.data), str(chunk.indexbuf), bool(chunk.is_finish))

    async def close(self) -> None:
        """DestroySdk."""
        self._sdk.close()


async def open_source(app: web.Application) -> tuple[ArchiveSource, Keyring]:
    """The production source and the configured private keys (ConfigError when missing)."""
    settings = app[SETTINGS]
    keys = keyring_module.parse(settings.archive_keys.get_secret_value())
    return SdkSource(settings), keys
