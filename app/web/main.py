"""What uvicorn loads (`backprop_lens.web.main:app`): the only module-level app."""

from backprop_lens.web.app import create_app
from backprop_lens.web.server import configure_process

configure_process()
app = create_app()
