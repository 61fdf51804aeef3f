"""The outbox: every change to the outside world, recorded with the state that causes it.

`effects.add(session, kind, payload, key=...)` writes an effect row in the caller's
transaction; after commit the sender (`sender.Sender`) delivers it, retries it by errcode,
rate-limits it and parks it after repeated failure. See docs/outbox.md for the guarantees.
"""
