"""The chat-archive (会话存档) puller: GetChatData from a persisted cursor into the pipeline.

`source` is the interface to Tencent's Finance SDK (`sdk` is the real one; the sandbox has a
fake), `keyring` opens each record's key with the corp's RSA private keys, `records` tells
customers' messages from reps' replies, `cursor` holds the seq and the one-puller lease, and
`puller` runs it all; `process` is `python -m bot archive`. See docs/archive.md.
"""
