"""Our converter's hooks against the same converter built on cattrs' generators, and pydantic v2.

``python -m benchmarks.converter_designs [--quick]`` prints, for the dict-level rows of the
conversion benchmark and for one `FileInfo` (the item of every ``fileList``), the median of
per-round ratios of three contenders timed in interleaved rounds:

- ``ours``: `agora_recording.converter`, whose model hooks the library generates itself;
- ``cattrs-gen``: `benchmarks._cattrs_gen`, the same behaviour on
  ``make_dict_structure_fn``/``make_dict_unstructure_fn`` (checked to give the same results);
- ``pydantic``: the pydantic v2 models of the conversion benchmark.

Two more contenders bound what any tuning of cattrs' functions could reach: ``FileInfo(**fields)``
is the class call every cattrs structuring function ends with, and ``cattrs fn, no class call``
structures the 50 ``fileList`` items of the individual query with cattrs' function for
`FileInfo` (our hooks per field) whose class call is replaced by a no-op. Nothing is written;
the figures are for deciding which design the library ships.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from typing import Any

import attrs
from agora_recording import QueryResponse, StartConfig, converter
from agora_recording._converter import _bool, _int, _str, _text
from agora_recording.models import WIRE, FileInfo
from cattrs.gen import make_dict_structure_fn_from_attrs, override

from . import _payloads as p
from ._cattrs_gen import build
from ._harness import compare_sync, fmt_seconds, ratio
from ._pydantic_models import FileInfoP, QueryResponseP, StartConfigP

__all__ = ["main"]

_Case = tuple[str, dict[str, Callable[[], object]]]


def _no_class_call(**fields: Any) -> dict[str, Any]:
    """Stands in for the class cattrs' function calls: takes the keywords, builds nothing."""
    return fields


def _files_without_class_call(items: list[dict[str, Any]]) -> Callable[[], object]:
    """The 50 items through cattrs' function for FileInfo, minus the class call."""
    hooks = {
        "file_name": _str,
        "track_type": _text,
        "uid": _str,
        "mixed_all_user": _bool,
        "is_playable": _bool,
        "slice_start_time": _int,
    }
    fields = attrs.fields(FileInfo)
    overrides: dict[str, Any] = {
        field.name: override(rename=field.metadata[WIRE], struct_hook=hooks[field.name])
        for field in fields
    }
    structure = make_dict_structure_fn_from_attrs(
        list(fields),
        _no_class_call,  # type: ignore[arg-type]
        build(),
        _cattrs_detailed_validation=False,
        **overrides,
    )
    return lambda: [structure(item, FileInfo) for item in items]


def _cases() -> list[_Case]:
    generated = build()
    web, individual = p.web_query_wire(100), p.individual_query_wire(50)
    config = p.mix_start_config()
    wire = converter.unstructure(config)
    pydantic_config = StartConfigP.model_validate(wire)
    item = individual["serverResponse"]["fileList"][0]
    fields = {
        "file_name": item["fileName"],
        "track_type": item["trackType"],
        "uid": item["uid"],
        "mixed_all_user": item["mixedAllUser"],
        "is_playable": item["isPlayable"],
        "slice_start_time": item["sliceStartTime"],
    }
    for body in (web, individual):
        if generated.structure(body, QueryResponse) != converter.structure(body, QueryResponse):
            raise AssertionError("cattrs-gen does not structure the query as ours does")
    if generated.unstructure(config) != wire:
        raise AssertionError("cattrs-gen does not unstructure the start config as ours does")
    if generated.structure(wire, StartConfig) != converter.structure(wire, StartConfig):
        raise AssertionError("cattrs-gen does not structure the start config as ours does")

    def structure(body: dict[str, Any]) -> dict[str, Callable[[], object]]:
        return {
            "ours": lambda: converter.structure(body, QueryResponse),
            "cattrs-gen": lambda: generated.structure(body, QueryResponse),
            "pydantic": lambda: QueryResponseP.model_validate(body),
        }

    files = list(individual["serverResponse"]["fileList"])
    return [
        ("structure web query (100 files, 3 services)", structure(web)),
        (
            "structure individual query (50 files)",
            {
                **structure(individual),
                "cattrs fn, no class call": _files_without_class_call(files),
            },
        ),
        (
            "unstructure mix start config",
            {
                "ours": lambda: converter.unstructure(config),
                "cattrs-gen": lambda: generated.unstructure(config),
                "pydantic": lambda: pydantic_config.model_dump(
                    by_alias=True, exclude_none=True, mode="json"
                ),
            },
        ),
        (
            "structure one FileInfo",
            {
                "ours": lambda: converter.structure(item, FileInfo),
                "cattrs-gen": lambda: generated.structure(item, FileInfo),
                "pydantic": lambda: FileInfoP.model_validate(item),
                "FileInfo(**fields)": lambda: FileInfo(**fields),
            },
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    """Time every case and print one line per contender pair."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.converter_designs")
    parser.add_argument("--quick", action="store_true", help="few rounds, for a smoke run")
    quick = parser.parse_args(argv).quick
    rounds = 5 if quick else 21
    for label, contenders in _cases():
        number = 40 if quick else (2000 if "FileInfo" in label else 250)
        timings = compare_sync(list(contenders.items()), rounds=rounds, number=number)
        per_op = {
            name: fmt_seconds(statistics.median(seconds) / number)
            for name, seconds in timings.items()
        }
        print(f"{label}: " + ", ".join(f"{name} {time}" for name, time in per_op.items()))
        pairs = [("ours", "pydantic"), ("cattrs-gen", "pydantic"), ("cattrs-gen", "ours")]
        pairs += [
            (name, "pydantic")
            for name in contenders
            if name not in ("ours", "cattrs-gen", "pydantic")
        ]
        for mine, other in pairs:
            found = ratio(timings, mine, other, number)
            low, high = found.spread
            print(f"    {mine} / {other}: {found.median:.2f}x (IQR {low:.2f}-{high:.2f}x)")


if __name__ == "__main__":
    main()
