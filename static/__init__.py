"""The page's scripts, styles and vendored libraries: package data of backprop_lens (see pyproject.toml)."""
