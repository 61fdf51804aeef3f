"""WeCom callback crypto (wecom-reference §1): signature, AES-256-CBC, envelopes. Pure, no I/O.

The AES-CBC step is wechatpy's `WeChatCipher` (the cipher inside `wechatpy.work.crypto.PrpCrypto`).
The framing around it is ours, because `PrpCrypto.decrypt` strips `plain[-1]` bytes without
validating the PKCS#7 padding, never checks lengths, and returns text rather than bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedET
from wechatpy.crypto.base import WeChatCipher

# WeCom pads to 32-byte blocks (not AES's 16): pad bytes are 1..32 (§1.3).
PAD_BLOCK = 32
_RANDOM_LEN = 16
_LEN_FIELD = struct.Struct(">I")


class CryptoError(ValueError):
    """Ciphertext or key that is not valid WeCom crypto (base64, padding, length, receive id)."""


class EnvelopeError(ValueError):
    """Malformed or hostile callback XML (DTDs and entities are refused)."""


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside CDATA; split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _pkcs7_pad(data: bytes) -> bytes:
    n = PAD_BLOCK - len(data) % PAD_BLOCK
    return data + bytes([n]) * n


def _pkcs7_unpad(data: bytes) -> bytes:
    if not data:
        raise CryptoError("empty plaintext")
    n = data[-1]
    if not 1 <= n <= PAD_BLOCK or len(data) < n or data[-n:] != bytes([n]) * n:
        raise CryptoError("bad padding")
    return data[:-n]


class WeComCrypto:
    """Signs, verifies, encrypts and decrypts callbacks for one (token, key, receive id)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise CryptoError("EncodingAESKey must be 43 characters")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise CryptoError("EncodingAESKey is not base64") from exc
        self.token = token
        self.receive_id = receive_id
        self._receive_id = receive_id.encode()
        # IV = the key's first 16 bytes (WeChatCipher's default).
        self._cipher = WeChatCipher(key)

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """sha1 hex of the sorted, concatenated token/timestamp/nonce/encrypt (§1.2)."""
        joined = "".join(sorted([self.token, timestamp, nonce, encrypt]))
        return hashlib.sha1(joined.encode()).hexdigest()

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> bool:
        """Constant-time check of `msg_signature`."""
        expected = self.signature(timestamp, nonce, encrypt).encode()
        return hmac.compare_digest(expected, msg_signature.encode("utf-8", "replace"))

    def decrypt(self, encrypt: str) -> bytes:
        """Decrypt a base64 `Encrypt`/echostr to the message bytes; CryptoError if invalid."""
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("bad base64") from exc
        if not raw or len(raw) % 16:
            raise CryptoError("ciphertext length is not a multiple of the AES block")
        body = _pkcs7_unpad(self._cipher.decrypt(raw))
        header = _RANDOM_LEN + _LEN_FIELD.size
        if len(body) < header:
            raise CryptoError("plaintext too short")
        (msg_len,) = _LEN_FIELD.unpack_from(body, _RANDOM_LEN)
        if header + msg_len > len(body):
            raise CryptoError("message length exceeds plaintext")
        if not hmac.compare_digest(body[header + msg_len :], self._receive_id):
            raise CryptoError("receive id mismatch")
        return body[header : header + msg_len]

    def encrypt(self, plaintext: bytes, *, random16: bytes | None = None) -> str:
        """Encrypt message bytes to base64 (random prefix from os.urandom unless given)."""
        prefix = os.urandom(_RANDOM_LEN) if random16 is None else random16
        if len(prefix) != _RANDOM_LEN:
            raise ValueError("random16 must be 16 bytes")
        body = prefix + _LEN_FIELD.pack(len(plaintext)) + plaintext + self._receive_id
        return base64.b64encode(self._cipher.encrypt(_pkcs7_pad(body))).decode("ascii")

    def build_reply(
        self, plaintext: bytes, timestamp: str, nonce: str, *, random16: bytes | None = None
    ) -> bytes:
        """The encrypted passive-reply envelope XML (§1.6) for a plain reply message."""
        encrypt = self.encrypt(plaintext, random16=random16)
        sig = self.signature(timestamp, nonce, encrypt)
        return (
            "<xml>\n"
            f"<Encrypt>{_cdata(encrypt)}</Encrypt>\n"
            f"<MsgSignature>{_cdata(sig)}</MsgSignature>\n"
            f"<TimeStamp>{escape(timestamp)}</TimeStamp>\n"
            f"<Nonce>{_cdata(nonce)}</Nonce>\n"
            "</xml>"
        ).encode()


def _parse_xml(body: bytes) -> Element:
    try:
        root: Element = DefusedET.fromstring(
            body, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise EnvelopeError(f"forbidden XML construct: {type(exc).__name__}") from exc
    except ParseError as exc:
        raise EnvelopeError(f"malformed XML: {exc}") from exc
    if root.tag != "xml":
        raise EnvelopeError(f"root element is <{root.tag}>, expected <xml>")
    return root


def _flat(root: Element) -> dict[str, str]:
    # Direct children only; the first occurrence of a tag wins. An element with children of
    # its own contributes its (usually empty) stripped text; the nested content is ignored.
    out: dict[str, str] = {}
    for child in root:
        if isinstance(child.tag, str) and child.tag not in out:
            text = child.text or ""
            out[child.tag] = text.strip() if len(child) else text
    return out


def parse_envelope(body: bytes) -> dict[str, str]:
    """Parse the outer callback `<xml>` (must carry `Encrypt`); EnvelopeError otherwise."""
    fields = _flat(_parse_xml(body))
    if not fields.get("Encrypt"):
        raise EnvelopeError("no Encrypt element")
    return fields


def parse_plain(xml: bytes) -> dict[str, str]:
    """Parse a decrypted message to {child tag: text}; nested elements are not flattened."""
    return _flat(_parse_xml(xml))
