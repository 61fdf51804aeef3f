"""Regression tests reuse the command tests' seeded team (see tests/commands/conftest.py)."""

from tests.commands.conftest import team

__all__ = ["team"]
