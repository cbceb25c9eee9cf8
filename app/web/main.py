"""What uvicorn loads (`app.web.main:app`): the only module-level app."""

from app.web.app import create_app

app = create_app()
