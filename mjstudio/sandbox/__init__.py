"""The sandbox provider: a local stand-in for the Midjourney task API, images made with Pillow."""

from mjstudio.sandbox.endpoints import create_app
from mjstudio.sandbox.settings import SandboxSettings

__all__ = ["SandboxSettings", "create_app"]
