"""``python -m agora_recording``: the same command line as ``agora-recording``."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    main()
