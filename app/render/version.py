"""What the bytes of a picture or a label depend on besides the run: this code. Part of every ETag and of the
URLs served `immutable`, so an upgrade that changes a label or a layout never meets a cached old picture.

A content hash of the render and present sources (and the package version): any edit changes it, no bump to
forget. Computed once per process from the installed files.
"""

from __future__ import annotations

import hashlib
from importlib import metadata, resources

_PACKAGES = ("backprop_lens.present", "backprop_lens.render")


def _digest() -> str:
    try:
        version = metadata.version("backprop-lens")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        version = "source"
    h = hashlib.sha256(version.encode())
    for package in _PACKAGES:
        files = sorted((f for f in resources.files(package).iterdir() if f.name.endswith(".py")), key=lambda f: f.name)
        for f in files:
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:10]


RENDER_VERSION = _digest()
