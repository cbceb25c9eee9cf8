"""The page's Jinja2 templates: package data of backprop_lens (see pyproject.toml)."""
