"""Import httpx without its command line.

httpx's ``__init__`` runs ``from ._main import main``, which imports click, rich and pygments
(about 100 ms) whenever they are installed, as they are with our ``cli`` extra. Only httpx's own
``httpx`` console script uses that ``main``. While httpx is first imported here, a stand-in
``httpx._main`` gives it a ``main`` that imports the real one when called; the stand-in leaves
``sys.modules`` at once, so a later ``import httpx._main`` loads the real module. If httpx is
already imported, nothing happens. The package imports this module before anything else.
"""

from __future__ import annotations

import importlib
import sys
import types


def _main() -> None:
    """Run httpx's own command line, importing it now."""
    importlib.import_module("httpx._main").main()


def import_httpx_without_cli() -> None:
    """Import httpx, deferring its command line's imports until ``httpx.main()`` runs."""
    if "httpx" in sys.modules:
        return
    stand_in = types.ModuleType("httpx._main")
    stand_in.main = _main  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = stand_in
    try:
        importlib.import_module("httpx")
    finally:
        if sys.modules.get("httpx._main") is stand_in:
            del sys.modules["httpx._main"]


import_httpx_without_cli()
