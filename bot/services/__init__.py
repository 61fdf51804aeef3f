"""Rep and supervisor actions, written once: slash-commands, the sidebar and the flows call them.

Every function takes an AsyncSession first and never commits; the caller owns the transaction.
"""
