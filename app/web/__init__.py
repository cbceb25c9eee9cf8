"""The web app: HTTP API (runs as pure functions of their configuration) and the page.

from backprop_lens.web import create_app, Settings, serve
"""

from backprop_lens.web.app import create_app
from backprop_lens.web.server import serve
from backprop_lens.web.settings import Settings

__all__ = ["Settings", "create_app", "serve"]
