"""Load Tencent's Finance SDK library first thing in the puller process (imports nothing).

The SDK is one statically linked binary (its own C++ runtime, OpenSSL and curl). Loaded after
another C++ extension (rapidfuzz, which the matcher uses) its start-up code aborts the whole
process with "free(): invalid pointer"; loaded before, both work. `python -m bot archive`
calls `preload` before importing anything else of ours.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

_HELD: list[Any] = []
TOO_LATE = "a C++ extension is loaded already; the SDK must be loaded first"


def preload() -> str:
    """Load the SDK's library now; "" when done (or already), else why it could not be."""
    if _HELD:
        return ""
    if any(name.startswith("rapidfuzz") for name in sys.modules):
        return TOO_LATE
    try:
        from pywecomarchive import _native
    except ImportError:
        return "pywecomarchive is not installed"
    try:
        _HELD.append(ctypes.CDLL(str(_native.default_library())))
    except Exception as exc:  # noqa: BLE001 - SdkLoadError or OSError: reported by Init later
        return type(exc).__name__
    return ""
