"""MkDocs hook: put the package version, read from its one source, into the site.

The version is written once, as ``__version__`` in ``agora_recording/__init__.py`` (hatch reads
it from there too); pages say ``{{ version }}`` and the footer names it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_INIT = Path(__file__).resolve().parent.parent / "agora_recording" / "__init__.py"


def package_version() -> str:
    """``__version__`` as ``agora_recording/__init__.py`` assigns it."""
    found = re.search(r'^__version__ = "([^"]+)"$', _INIT.read_text(encoding="utf-8"), re.M)
    if found is None:
        raise RuntimeError(f"no __version__ assignment in {_INIT}")
    return found.group(1)


def on_config(config: Any, **_: Any) -> Any:
    config["copyright"] = f"agora-recording {package_version()}"
    return config


def on_page_markdown(markdown: str, **_: Any) -> str:
    return markdown.replace("{{ version }}", package_version())
