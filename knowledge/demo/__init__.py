"""The demo knowledge base for sandbox mode: a made-up skincare shop (花漾肌研)."""

from __future__ import annotations

import functools
from pathlib import Path

from knowledge.model import KnowledgeBase

DEMO_KB_PATH = Path(__file__).parent / "kb.yaml"
# A hand-written test set for the demo KB: paraphrases of its entries (expected_id) and
# questions it does not cover (empty expected_id). Never used to tune anything.
DEMO_EVAL_PATH = Path(__file__).parent / "eval.csv"


@functools.cache
def load_demo() -> KnowledgeBase:
    """The demo knowledge base (parsed once; the value is immutable)."""
    from knowledge import io  # io imports heavy readers; keep `knowledge.demo` light

    return io.read_kb(DEMO_KB_PATH)
