"""The fake chat archive (会话存档): Tencent's service in memory, and sources that read it.

`FakeArchive` keeps sealed records the way WeCom does: each message is encrypted with a
fresh random key, and that key with the corp's RSA public key of a version (PKCS#1 v1.5),
so the puller's real RSA code opens them. Tencent's DecryptData algorithm is undocumented;
the fake's own stand-in is AES-GCM under the random key. It is served on the fake WeCom's
control routes (`/_archive/...`), which `HttpSource` reads, as the SDK reads Tencent's
servers; `LocalSource` reads a FakeArchive in the same process (tests, bench).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.archive.keyring import Keyring, load_pem
from bot.archive.source import ArchiveSDKError, ArchiveSource, EncryptedRecord, MediaChunk
from bot.core.keys import HTTP, SETTINGS

JSON = dict[str, Any]
# GetMediaData hands files out in chunks (512 KB in the real SDK; small here so tests page).
MEDIA_CHUNK = 64 * 1024
# Key generation costs ~0.1 s: one key per version per process, shared by every fake.
_KEYS: dict[int, rsa.RSAPrivateKey] = {}


def private_key(version: int) -> rsa.RSAPrivateKey:
    """The corp's private key of a version (generated once per process)."""
    if version not in _KEYS:
        _KEYS[version] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEYS[version]


def pem(version: int) -> str:
    """The private key of a version as PKCS#1 PEM, as the corp's admin would keep it."""
    return private_key(version).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip


def seal(random_key: str, plain: bytes) -> str:
    """The fake's DecryptData counterpart: AES-GCM under SHA-256 of the random key."""
    nonce = os.urandom(12)
    aes = AESGCM(hashlib.sha256(random_key.encode()).digest())
    return base64.b64encode(nonce + aes.encrypt(nonce, plain, None)).decode()


def unseal(random_key: str, sealed: str) -> JSON:
    """Open what `seal` made; ArchiveSDKError 10008 (DecryptMsg) with the wrong key."""
    try:
        raw = base64.b64decode(sealed)
        aes = AESGCM(hashlib.sha256(random_key.encode()).digest())
        message: JSON = json.loads(aes.decrypt(raw[:12], raw[12:], None))
    except Exception:  # noqa: BLE001 - any failure to open is the SDK's 10008
        raise ArchiveSDKError("DecryptData", 10008) from None
    return message


class FakeArchive:
    """Sealed archive records and media files, with injectable SDK errors."""

    def __init__(self, version: int = 1) -> None:
        self.version = version  # the public key version the admin uploaded last
        self.records: list[JSON] = []
        self.media: dict[str, bytes] = {}
        self.failures: deque[int] = deque()
        self.media_failures: deque[int] = deque()
        self.pulls = 0  # GetChatData calls answered

    def add(self, message: JSON, *, version: int | None = None) -> int:
        """Seal a message under a key version (default: the current one); its seq."""
        ver = self.version if version is None else version
        random_key = secrets.token_hex(16)
        sealed_key = private_key(ver).public_key().encrypt(random_key.encode(),
                                                            padding.PKCS1v15())  # fmt: skip
        seq = len(self.records) + 1
        self.records.append({
            "seq": seq, "msgid": message["msgid"], "publickey_ver": ver,
            "encrypt_random_key": base64.b64encode(sealed_key).decode(),
            "encrypt_chat_msg": seal(random_key, json.dumps(message).encode()),
        })  # fmt: skip
        return seq

    def add_text(
        self, sender: str, receiver: str, text: str, *, msgid: str | None = None,
        msgtime: int | None = None, version: int | None = None,
    ) -> str:  # fmt: skip
        """A 1:1 text from sender to receiver; its msgid."""
        msgid = msgid or f"fake-{secrets.token_hex(8)}"
        self.add(message(msgid, sender, receiver, "text", {"content": text}, msgtime),
                 version=version)  # fmt: skip
        return msgid

    def add_media(
        self, sender: str, receiver: str, msgtype: str, data: bytes, *, size: int | None = None
    ) -> str:
        """An image, voice note, video or file of these bytes (announcing `size` if given, as
        a message may); its msgid."""
        msgid = f"fake-{secrets.token_hex(8)}"
        sdkfileid = base64.b64encode(os.urandom(24)).decode()
        self.media[sdkfileid] = data
        body = {"sdkfileid": sdkfileid, "md5sum": hashlib.md5(data).hexdigest(),  # noqa: S324
                "filesize": len(data) if size is None else size}  # fmt: skip
        self.add(message(msgid, sender, receiver, msgtype, body))
        return msgid

    def fail_next(self, code: int, times: int = 1) -> None:
        """The next GetChatData calls answer this SDK error code."""
        self.failures.extend([code] * times)

    def chat_data(self, seq: int, limit: int) -> list[JSON]:
        """GetChatData: records after seq."""
        if self.failures:
            raise ArchiveSDKError("GetChatData", self.failures.popleft())
        self.pulls += 1
        return self.records[seq: seq + limit]

    def media_chunk(self, sdkfileid: str, indexbuf: str) -> MediaChunk:
        """GetMediaData: the chunk at indexbuf (here simply an offset)."""
        data = self.media.get(sdkfileid)
        if self.media_failures:
            raise ArchiveSDKError("GetMediaData", self.media_failures.popleft())
        if data is None:
            raise ArchiveSDKError("GetMediaData", 10005)
        start = int(indexbuf or 0)
        end = start + MEDIA_CHUNK
        return MediaChunk(data[start:end], str(end), end >= len(data))


def message(
    msgid: str, sender: str, receiver: str, msgtype: str, body: JSON, msgtime: int | None = None
) -> JSON:
    """A decrypted archive message as WeCom's documentation shows it."""
    return {
        "msgid": msgid, "action": "send", "from": sender, "tolist": [receiver], "roomid": "",
        "msgtime": msgtime or int(time.time() * 1000), "msgtype": msgtype, msgtype: body,
    }  # fmt: skip


def _records(raw: Iterable[JSON]) -> list[EncryptedRecord]:
    return [EncryptedRecord(int(r["seq"]), str(r["msgid"]), int(r["publickey_ver"]),
                            str(r["encrypt_random_key"]), str(r["encrypt_chat_msg"]))
            for r in raw]  # fmt: skip


class LocalSource:
    """An ArchiveSource on a FakeArchive in this process."""

    def __init__(self, archive: FakeArchive) -> None:
        self.archive = archive

    async def get_chat_data(self, seq: int, limit: int) -> list[EncryptedRecord]:
        """GetChatData."""
        return _records(self.archive.chat_data(seq, limit))

    def decrypt_data(self, random_key: str, encrypt_chat_msg: str) -> JSON:
        """DecryptData."""
        return unseal(random_key, encrypt_chat_msg)

    async def get_media_data(self, sdkfileid: str, indexbuf: str) -> MediaChunk:
        """GetMediaData."""
        return self.archive.media_chunk(sdkfileid, indexbuf)

    async def close(self) -> None:
        """Nothing to free."""


class HttpSource:
    """An ArchiveSource on the fake WeCom's /_archive routes (another process, or the
    sandbox's own server), as the SDK talks to Tencent."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base.rstrip("/")

    async def _post(self, operation: str, path: str, body: JSON) -> JSON:
        try:
            async with self.http.post(f"{self.base}/_archive/{path}", json=body) as resp:
                answer: JSON = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise ArchiveSDKError(operation, 10001) from None
        if answer.get("errcode"):
            raise ArchiveSDKError(operation, int(answer["errcode"]))
        return answer

    async def get_chat_data(self, seq: int, limit: int) -> list[EncryptedRecord]:
        """GetChatData."""
        answer = await self._post("GetChatData", "getchatdata", {"seq": seq, "limit": limit})
        return _records(answer["chatdata"])

    def decrypt_data(self, random_key: str, encrypt_chat_msg: str) -> JSON:
        """DecryptData (local, as in the SDK)."""
        return unseal(random_key, encrypt_chat_msg)

    async def get_media_data(self, sdkfileid: str, indexbuf: str) -> MediaChunk:
        """GetMediaData."""
        answer = await self._post("GetMediaData", "media",
                                  {"sdkfileid": sdkfileid, "indexbuf": indexbuf})  # fmt: skip
        return MediaChunk(base64.b64decode(answer["data"]), str(answer["indexbuf"]),
                          bool(answer["is_finish"]))  # fmt: skip

    async def keyring(self) -> Keyring:
        """The corp's private keys, which in the sandbox the fake admin hands over."""
        async with self.http.get(f"{self.base}/_archive/keys") as resp:
            keys: dict[str, str] = await resp.json()
        return Keyring({int(v): load_pem(p.encode(), f"sandbox key {v}") for v, p in keys.items()})

    async def close(self) -> None:
        """The HTTP session belongs to the app."""


def keyring_of(archive: FakeArchive) -> Keyring:
    """The private keys of every version the archive has used (what the admin holds)."""
    versions = {archive.version, *(int(r["publickey_ver"]) for r in archive.records)}
    return Keyring({v: private_key(v) for v in sorted(versions)})


async def open_source(app: web.Application) -> tuple[ArchiveSource, Keyring]:
    """Sandbox mode: the fake archive of the fake WeCom this server talks to (its own, or a
    standalone one: `python -m bot fake-wecom`)."""
    from bot.sandbox import demo  # the fake mounted on this server, if it is

    fake = app.get(demo.FAKE)
    if fake is not None:
        return LocalSource(fake.archive), keyring_of(fake.archive)
    source = HttpSource(app[HTTP], app[SETTINGS].api_base)
    try:
        keys = await source.keyring()
    except (aiohttp.ClientError, ValueError):
        raise ArchiveSDKError("Init", 10001) from None
    return source, keys


def add_routes(app: web.Application, archive: FakeArchive) -> None:
    """The fake's /_archive routes: the SDK's calls, the keys, and the simulator's messages."""

    async def getchatdata(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            data = archive.chat_data(int(body.get("seq", 0)), int(body.get("limit", 1000)))
        except ArchiveSDKError as exc:
            return web.json_response({"errcode": exc.code, "errmsg": exc.kind})
        return web.json_response({"errcode": 0, "errmsg": "ok", "chatdata": data})

    async def media(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            chunk = archive.media_chunk(str(body["sdkfileid"]), str(body.get("indexbuf", "")))
        except ArchiveSDKError as exc:
            return web.json_response({"errcode": exc.code, "errmsg": exc.kind})
        return web.json_response({"errcode": 0, "data": base64.b64encode(chunk.data).decode(),
                                  "indexbuf": chunk.indexbuf, "is_finish": chunk.is_finish})

    async def keys(request: web.Request) -> web.Response:
        ring = keyring_of(archive)
        return web.json_response({str(v): pem(v) for v in ring.versions})

    async def messages(request: web.Request) -> web.Response:
        """{"from", "to", "text"}: someone says something in a 1:1 chat (the simulator)."""
        try:
            body = await request.json()
            msgid = archive.add_text(str(body["from"]), str(body["to"]), str(body["text"]))
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": f"bad message: {exc}"}, status=400)
        return web.json_response({"msgid": msgid, "seq": len(archive.records)})

    async def faults(request: web.Request) -> web.Response:
        """{"errcode", "times"?}: the next GetChatData calls fail with that SDK code."""
        try:
            body = await request.json()
            archive.fail_next(int(body["errcode"]), int(body.get("times", 1)))
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": f"bad fault: {exc}"}, status=400)
        return web.json_response({"queued": list(archive.failures)})

    app.router.add_post("/_archive/getchatdata", getchatdata)
    app.router.add_post("/_archive/media", media)
    app.router.add_get("/_archive/keys", keys)
    app.router.add_post("/_archive/messages", messages)
    app.router.add_post("/_archive/faults", faults)
