"""Side-by-side benchmarks of agora-recording (run them with ``python -m benchmarks``).

Every comparison is a ratio taken in one process, in interleaved rounds (ours, theirs, theirs,
ours, ...), reported as the median of the per-round ratios, so machine speed and drift cancel
out; absolute times are printed only as context. Nothing here is a timed assertion: the figures
go to ``benchmarks/README.md`` and ``benchmarks/results.json``. See the README for what each
figure means.
"""

from __future__ import annotations
