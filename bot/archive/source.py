"""The archive source interface (Tencent's Finance SDK or a fake) and its error codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class EncryptedRecord:
    """One GetChatData item: the message is still sealed by its random key."""

    seq: int
    msgid: str
    publickey_ver: int
    encrypt_random_key: str
    encrypt_chat_msg: str


@dataclass(frozen=True, slots=True)
class MediaChunk:
    """One GetMediaData answer: a piece of the file and where the next one starts."""

    data: bytes
    indexbuf: str
    is_finish: bool


class ArchiveSource(Protocol):
    """What the puller needs from the Finance SDK; every call may raise ArchiveSDKError."""

    async def get_chat_data(self, seq: int, limit: int) -> list[EncryptedRecord]:
        """Records after seq, at most limit, in seq order."""
        ...

    def decrypt_data(self, random_key: str, encrypt_chat_msg: str) -> dict[str, Any]:
        """The message JSON, opened with the record's random key (already RSA-decrypted).

        Local and CPU-only in the SDK: the puller calls it from a worker thread."""
        ...

    async def get_media_data(self, sdkfileid: str, indexbuf: str) -> MediaChunk:
        """The next chunk of a media file, from indexbuf ("" for the start)."""
        ...

    async def close(self) -> None:
        """Free the SDK's resources."""
        ...


# The SDK's error codes (Tencent's 会话内容存档 documentation, path 91552), with what to do
# about each one; these are the log line and the /healthz status.
SDK_ERRORS: dict[int, tuple[str, str]] = {
    10000: ("param", "参数错误：检查 WECOM_CORP_ID 和 SIDEKICK_ARCHIVE_SECRET 的格式"),
    10001: ("network", "网络请求错误：连不上企业微信存档服务，检查出口网络和代理设置"),
    10002: ("parse", "数据解析失败：企业微信返回的数据无法解析，稍后会重试"),
    10003: ("system", "系统调用失败：检查会话存档是否已开通、SIDEKICK_ARCHIVE_SECRET 是否正确"),
    10004: ("key", "密钥错误：检查 SIDEKICK_ARCHIVE_KEYS 是否与后台上传的公钥匹配"),
    10005: ("fileid", "fileid 错误：媒体文件的 sdkfileid 无效或已失效"),
    10006: ("decrypt", "解密失败：消息密钥与私钥版本不匹配，检查 SIDEKICK_ARCHIVE_KEYS"),
    10007: ("key", "找不到该消息加密版本的私钥：在 SIDEKICK_ARCHIVE_KEYS 里加上这个版本"),
    10008: ("decrypt", "DecryptMsg 错误：消息密钥不对（私钥与公钥版本不匹配）"),
    10009: ("ip", "IP 不在存档的可信 IP 列表：在管理后台的会话内容存档里添加本机出口 IP"),
    10010: ("expired", "请求的数据已过期：企业微信只保留一定天数的存档，游标之前的数据已无法拉取"),
    10011: ("cert", "SSL 证书错误：检查本机的 CA 证书和代理"),
}


class ArchiveSDKError(Exception):
    """A Finance SDK call failed with one of its error codes (or could not run at all)."""

    def __init__(self, operation: str, code: int, detail: str = "") -> None:
        self.operation = operation
        self.code = code
        self.kind, self.message = SDK_ERRORS.get(code, ("unknown", f"未知的存档 SDK 错误 {code}"))
        if detail:
            self.message = f"{self.message}（{detail}）"
        super().__init__(f"{operation}: {code} {self.kind}")

    @property
    def per_record(self) -> bool:
        """Whether the error is about one record (skip it) rather than the whole service."""
        return self.code in (10006, 10008)


# Not one of the SDK's codes: the library itself could not be loaded or initialised.
LOAD_ERROR = 1
SDK_ERRORS[LOAD_ERROR] = (
    "load",
    "无法加载会话存档 SDK：安装 pip install 'wecom-sidekick[archive]'（Linux x86_64/ARM64）",
)
