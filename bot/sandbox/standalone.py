"""`python -m bot fake-wecom`: one fake WeCom process that any number of workers share.

Sandbox mode with several workers needs it: a fake mounted in each worker would give each its
own contacts, welcome codes and call log, and a callback posted to one worker's fake would be
handled by a worker whose API calls land on another's. Served under /sandbox/wecom/, as the
mounted fake is, so WECOM_API_BASE=http://HOST:PORT/sandbox/wecom is all the workers need.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from typing import IO

from aiohttp import web

from bot.core.errors import ConfigError
from bot.core.settings import Settings
from bot.sandbox.fake import FakeWeCom

PREFIX = "/sandbox/wecom/"
ONE_WORKER = (
    "沙盒模式多进程需要共享的模拟企业微信 sandbox mode with several workers needs one shared "
    "fake WeCom: start `python -m bot fake-wecom --port 9090 --callback "
    "http://127.0.0.1:$PORT/wecom/callback` and set WECOM_API_BASE="
    "http://127.0.0.1:9090/sandbox/wecom, or run one worker (WEB_CONCURRENCY=1)"
)


def build(settings: Settings, callback_url: str | None) -> FakeWeCom:
    """A fake WeCom with the settings' corp, secrets and agent, calling back callback_url."""
    return FakeWeCom(
        corp_id=settings.corp_id,
        secret=settings.secret.get_secret_value(),
        token=settings.token.get_secret_value(),
        aes_key=settings.aes_key.get_secret_value(),
        agent_id=settings.agent_id,
        callback_url=callback_url,
    )


def create_app(fake: FakeWeCom) -> web.Application:
    """The standalone fake's server: the fake under /sandbox/wecom/, and /healthz."""
    app = web.Application()
    app.add_subapp(PREFIX, fake.app)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "fake_wecom": True})

    app.router.add_get("/healthz", healthz)
    return app


_HELD: list[IO[str]] = []  # the port lock, held until this process exits


def check_single_worker(settings: Settings) -> None:
    """Refuse a fake mounted in a server of several workers (ConfigError, one line).

    WEB_CONCURRENCY > 1 says so; and a lock file per port catches workers gunicorn started
    without it (the Procfile's default count): the second worker on the port finds it taken.
    """
    if settings.web_concurrency > 1:
        raise ConfigError(ONE_WORKER)
    path = os.path.join(tempfile.gettempdir(), f"sidekick-sandbox-{settings.port}.lock")
    handle: IO[str] = open(path, "a")  # noqa: SIM115 - held for the process's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ConfigError(ONE_WORKER) from None
    _HELD.append(handle)  # the kernel releases it when this worker exits
