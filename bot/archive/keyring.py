"""The corp's RSA private keys by publickey_ver, and opening a record's random key with them.

WeCom encrypts each record's random key with the public key uploaded in the admin console
(RSA, PKCS#1 v1.5 padding); the admin may upload a new key version at any time, so records
of several versions arrive mixed and every configured version stays usable.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bot.core.errors import ConfigError

ENV_PREFIX = "env:"


class UnknownKeyVersionError(Exception):
    """A record was sealed with a key version we hold no private key for."""

    def __init__(self, version: int) -> None:
        super().__init__(f"no private key for publickey_ver {version}")
        self.version = version


class KeyMismatchError(Exception):
    """The random key does not open with the private key of its version."""


@dataclass(frozen=True)
class Keyring:
    """Private keys by version (never printed: repr shows the versions only)."""

    keys: dict[int, rsa.RSAPrivateKey]

    def __repr__(self) -> str:
        return f"Keyring(versions={sorted(self.keys)})"

    @property
    def versions(self) -> list[int]:
        """The configured key versions."""
        return sorted(self.keys)

    def open_random_key(self, version: int, encrypt_random_key: str) -> str:
        """The record's random key, for DecryptData (base64 in, text out)."""
        key = self.keys.get(version)
        if key is None:
            raise UnknownKeyVersionError(version)
        try:
            sealed = base64.b64decode(encrypt_random_key, validate=True)
            return key.decrypt(sealed, padding.PKCS1v15()).decode()
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise KeyMismatchError(f"publickey_ver {version}") from None


def load_pem(pem: bytes, where: str) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM (PKCS#1 or PKCS#8, unencrypted); ConfigError naming where."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"SIDEKICK_ARCHIVE_KEYS: {where} 不是 PEM 格式的 RSA 私钥"
                          f" (not an unencrypted PEM RSA private key)") from None  # fmt: skip
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"SIDEKICK_ARCHIVE_KEYS: {where} 不是 RSA 私钥 (not an RSA key)")
    return key


def parse(spec: str, environ: dict[str, str] | None = None) -> Keyring:
    """Read "3:/path/key.pem,4:env:NAME" into a Keyring; ConfigError names the bad entry."""
    env = os.environ if environ is None else environ
    keys: dict[int, rsa.RSAPrivateKey] = {}
    for raw in (part.strip() for part in spec.split(",")):
        if not raw:
            continue
        version_text, sep, where = raw.partition(":")
        if not sep or not version_text.strip().isdigit() or not where.strip():
            raise ConfigError(
                "SIDEKICK_ARCHIVE_KEYS: 每项应为 版本号:私钥文件路径 或 版本号:env:变量名"
                " (each entry is VERSION:PATH or VERSION:env:NAME)"
            )
        version, where = int(version_text), where.strip()
        if version in keys:
            raise ConfigError(f"SIDEKICK_ARCHIVE_KEYS: 版本 {version} 重复 (version repeated)")
        if where.startswith(ENV_PREFIX):
            name = where[len(ENV_PREFIX):]
            pem = env.get(name, "")
            if not pem:
                raise ConfigError(f"SIDEKICK_ARCHIVE_KEYS: 环境变量 {name} 未设置 (not set)")
            keys[version] = load_pem(pem.encode(), f"env:{name}")
        else:
            try:
                pem_bytes = Path(where).read_bytes()
            except OSError as exc:
                raise ConfigError(f"SIDEKICK_ARCHIVE_KEYS: 读不了版本 {version} 的私钥文件"
                                  f" {where} ({exc.strerror})") from None  # fmt: skip
            keys[version] = load_pem(pem_bytes, where)
    if not keys:
        raise ConfigError("SIDEKICK_ARCHIVE_KEYS: 未设置私钥 (no private key configured)")
    return Keyring(keys)
