"""The sandbox provider: a local stand-in for the Midjourney task API, images made with Pillow.

It serves the seed's two endpoints and the result files (``endpoints``), runs tasks through
their states with the seed's limits and failures (``provider``, ``jobs``, ``limits``) as its
``options`` say, keeps its own task ledger on disk (``ledger``), draws deterministic images
(``imaging``, ``art``) and calls back (``callbacks``). It imports only ``mjstudio.api``; the
studio embeds it through ``mjstudio.server.embedded``.
"""

from mjstudio.sandbox.endpoints import create_app
from mjstudio.sandbox.options import SandboxSettings

__all__ = ["SandboxSettings", "create_app"]
