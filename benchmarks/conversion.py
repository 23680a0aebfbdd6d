"""Conversion: our cattrs converter against pydantic v2 and msgspec on the same payloads.

Cases (each contender structures the same dict, or encodes the same configuration):

- ``structure web query``: a web-mode query answer with the recorder's file list (100 slices),
  a CDN push and the upload service; the payload model follows ``serviceName``;
- ``structure individual query``: an individual-mode answer listing 50 files;
- ``unstructure start config``: the large mix start configuration (17 layout regions) to the
  wire dict, unset fields omitted.

Each is measured twice: at the dict level (what the converter itself does: ``dict -> model``,
``model -> dict``), and end to end from/to JSON bytes, where each library uses its own best path
(ours: ``json.loads``/``json.dumps`` around the converter; pydantic: ``model_validate_json``/
``model_dump_json``; msgspec: ``msgspec.json``). Before timing, every contender's output is
checked to be the same wire dict. Figures: ours / pydantic and ours / msgspec (below 1: we are
faster). The aim (at least as fast as pydantic) applies to the dict level, the converter's job.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

import msgspec
from agora_recording import QueryResponse, converter

from . import _payloads as p
from ._harness import BenchResult, Ratio, Row, compare_sync, fmt_seconds, ratio
from ._msgspec_models import QueryResponseM, StartConfigM
from ._profile import Profile, profiled
from ._pydantic_models import QueryResponseP, StartConfigP

__all__ = ["NAME", "run"]

NAME: Final = "conversion"
AIM: Final = 1.0

_Case = tuple[str, bool, dict[str, Callable[[], object]]]


def _check_same(label: str, outputs: dict[str, Any]) -> None:
    """Every contender must produce the same wire dict, or the comparison is meaningless."""
    expected = outputs["ours"]
    for name, output in outputs.items():
        if output != expected:
            raise AssertionError(f"{label}: {name} does not produce the same wire dict as ours")


def _compact(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _structure_cases(label: str, wire: dict[str, Any]) -> list[_Case]:
    raw = p.dumps(wire)
    _check_same(
        label,
        {
            "ours": converter.unstructure(converter.structure(wire, QueryResponse)),
            "pydantic": QueryResponseP.model_validate(wire).model_dump(
                by_alias=True, exclude_none=True, mode="json"
            ),
            "msgspec": msgspec.to_builtins(msgspec.convert(wire, QueryResponseM, strict=False)),
            "wire": wire,
        },
    )
    decode = msgspec.json.Decoder(QueryResponseM, strict=False)
    return [
        (
            f"structure {label} (dict -> model)",
            True,
            {
                "ours": lambda: converter.structure(wire, QueryResponse),
                "pydantic": lambda: QueryResponseP.model_validate(wire),
                "msgspec": lambda: msgspec.convert(wire, QueryResponseM, strict=False),
            },
        ),
        (
            f"decode {label} (JSON bytes -> model)",
            False,
            {
                "ours": lambda: converter.structure(json.loads(raw), QueryResponse),
                "pydantic": lambda: QueryResponseP.model_validate_json(raw),
                "msgspec": lambda: decode.decode(raw),
            },
        ),
    ]


def _unstructure_cases() -> list[_Case]:
    config = p.mix_start_config()
    wire = converter.unstructure(config)
    pyd = StartConfigP.model_validate(wire)
    spec = msgspec.convert(wire, StartConfigM)
    _check_same(
        "start config",
        {
            "ours": wire,
            "pydantic": pyd.model_dump(by_alias=True, exclude_none=True, mode="json"),
            "msgspec": msgspec.to_builtins(spec),
        },
    )
    encoder = msgspec.json.Encoder()
    return [
        (
            "unstructure mix start config (model -> dict)",
            True,
            {
                "ours": lambda: converter.unstructure(config),
                "pydantic": lambda: pyd.model_dump(by_alias=True, exclude_none=True, mode="json"),
                "msgspec": lambda: msgspec.to_builtins(spec),
            },
        ),
        (
            "encode mix start config (model -> JSON bytes)",
            False,
            {
                "ours": lambda: _compact(converter.unstructure(config)),
                "pydantic": lambda: pyd.model_dump_json(by_alias=True, exclude_none=True).encode(),
                "msgspec": lambda: encoder.encode(spec),
            },
        ),
    ]


def run(quick: bool) -> BenchResult:
    """Measure conversion ratios; ``quick`` uses few rounds."""
    rounds, number = (5, 40) if quick else (21, 250)
    cases = [
        *_structure_cases("web query (100 files, 3 services)", p.web_query_wire(100)),
        *_structure_cases("individual query (50 files)", p.individual_query_wire(50)),
        *_unstructure_cases(),
    ]
    rows: list[Row] = []
    notes: list[str] = []
    details: dict[str, Any] = {}
    profiles: dict[str, Profile] = {}
    for label, has_aim, contenders in cases:
        timings = compare_sync(list(contenders.items()), rounds=rounds, number=number)
        versus: dict[str, Ratio] = {
            other: ratio(timings, "ours", other, number) for other in ("pydantic", "msgspec")
        }
        details[label] = {other: result.as_json() for other, result in versus.items()}
        to_pydantic, to_msgspec = versus["pydantic"], versus["msgspec"]
        context = (
            f"ours {fmt_seconds(to_pydantic.per_op('ours'))}, pydantic "
            f"{fmt_seconds(to_pydantic.per_op('other'))}, msgspec "
            f"{fmt_seconds(to_msgspec.per_op('other'))}; ours / msgspec "
            f"{to_msgspec.median:.2f}x"
        )
        met = to_pydantic.median <= AIM if has_aim else None
        rows.append(
            Row(
                benchmark=NAME,
                measure=f"{label}: ours / pydantic",
                value=to_pydantic.median,
                unit="x",
                context=context,
                aim=f"<= {AIM:g}x" if has_aim else None,
                met=met,
            )
        )
        if met is False or (has_aim and not quick):
            ours = contenders["ours"]
            with profiled() as holder:
                for _ in range(number * (4 if quick else 12)):
                    ours()
            profiles[label] = holder[0]
            if met is False:
                spots = ", ".join(f"{name} {share:.0%}" for name, share in holder[0].hot_spots(5))
                notes.append(f"{label} (ours, self time): {spots}")
    details["profiles"] = {label: profile.as_json() for label, profile in profiles.items()}
    return BenchResult(rows=rows, details=details, notes=notes)
