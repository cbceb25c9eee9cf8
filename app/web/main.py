"""What uvicorn loads (`backprop_lens.web.main:app`): the only module-level app."""

import os

from backprop_lens.web.app import create_app
from backprop_lens.web.server import configure_process
from backprop_lens.web.settings import settings_from_env

configure_process()
app = create_app(settings_from_env(os.environ))  # `serve --setting` reaches every server process this way
