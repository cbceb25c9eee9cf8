"""What uvicorn loads (`app.web.main:app`): the only module-level app."""

from app.web.app import create_app
from app.web.server import configure_process

configure_process()
app = create_app()
