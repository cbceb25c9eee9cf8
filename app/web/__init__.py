"""The web app: HTTP API (runs as pure functions of their configuration) and the page.

from app.web import create_app, Settings, serve
"""

from app.web.app import create_app
from app.web.server import serve
from app.web.settings import Settings

__all__ = ["Settings", "create_app", "serve"]
