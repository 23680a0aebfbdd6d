"""Recorded file names (Agora's "Manage recorded files") and the per-mode ``serverResponse``
shapes of query and stop (Agora's query and stop references).

The names themselves come from the public `agora_recording.files` (the documented rules live
there once); this module decides which files a recording has written so far.
"""

from __future__ import annotations

from typing import Any

from agora_recording.files import (
    FileKind,
    backup_index_name,
    composite_name,
    expected_files,
    individual_name,
    raw_name,
)

from ._recording import Recording, Track, status_at

__all__ = [
    "file_infos",
    "file_names",
    "first_index_name",
    "query_response",
    "stop_response",
    "transcoded_files",
    "web_files",
]

_MIX_MP4_SECONDS = 2 * 3600  # a new composite MP4 about every two hours
_TRACK_TYPES = {"audio": "audio", "video": "video", "av": "audio_and_video"}


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _base(recording: Recording, track: Track) -> str:
    return composite_name(
        recording.sid,
        recording.cname,
        web=recording.is_web,
        prefix=recording.file_name_prefix,
        epoch=track.epoch,
    )


def _track_end(recording: Recording, track: Track, now: float) -> float:
    if track.ended_at is not None:
        return track.ended_at
    return recording.exit_at if recording.exit_at is not None else now


def _mp4_count(recording: Recording, track: Track, now: float) -> int:
    if track.kind == "web":
        params = recording.service_param("web_recorder_service")
        minutes = params.get("maxVideoDuration", 120)
        length = float(minutes) * 60 if isinstance(minutes, (int, float)) else 7200.0
        return 1 + int(recording.recorded_seconds(now) // max(length, 1.0))
    return 1 + int((_track_end(recording, track, now) - track.started_at) // _MIX_MP4_SECONDS)


_RAW_CODECS = {"av": "h264", "audio": "aac"}


def _raw_name(
    recording: Recording, track: Track, index: int | None = None, *, mp3: bool = False
) -> str:
    """A raw recording's index (or ``index``-th MP4, or MP3) of ``track``: the recorder encodes
    H.264, the service's default, and an audio-only user's files carry the audio codec; an MP3,
    whose name no page gives, follows the MP4 pattern (see `agora_recording.files`)."""
    codec = "mp3" if mp3 else _RAW_CODECS.get(track.kind, "h264")
    stem = raw_name(
        recording.sid,
        recording.cname,
        track.uid,
        codec,
        index=index,
        prefix=recording.file_name_prefix,
        epoch=track.epoch,
    )
    if index is None:
        return f"{stem}.m3u8"
    return f"{stem}.mp3" if mp3 else f"{stem}.mp4"


def first_index_name(recording: Recording, track: Track) -> str:
    """The M3U8 name of ``track`` (what NCS event 4 reports)."""
    if recording.mode == "raw":
        return _raw_name(recording, track)
    if track.kind in _TRACK_TYPES:
        stem = individual_name(
            recording.sid,
            recording.cname,
            track.uid,
            track.kind,
            prefix=recording.file_name_prefix,
            epoch=track.epoch,
        )
        return f"{stem}.m3u8"
    return f"{_base(recording, track)}.m3u8"


def file_infos(recording: Recording, now: float) -> list[dict[str, Any]]:
    """The ``fileList`` objects (``"json"`` mode) of an individual or mix recording."""
    files: list[dict[str, Any]] = []
    if recording.snapshot_only:
        return files
    mix = recording.mode == "mix"
    types = recording.av_file_types
    for track in recording.tracks:
        raw = recording.mode == "raw"
        names = [first_index_name(recording, track)] if "hls" in types or not raw else []
        if mix and "mp4" in types:
            count = _mp4_count(recording, track, now)
            names += [f"{_base(recording, track)}_{i}.mp4" for i in range(count)]
        elif raw and "mp4" in types:
            count = _mp4_count(recording, track, now)
            names += [_raw_name(recording, track, i) for i in range(count)]
        if raw and "mp3" in types:  # audio only, written directly (the migration guide)
            count = _mp4_count(recording, track, now)
            names += [_raw_name(recording, track, i, mp3=True) for i in range(count)]
        for name in names:
            kind = "audio" if name.endswith(".mp3") else track.kind
            files.append(
                {
                    "fileName": name,
                    "trackType": _TRACK_TYPES.get(kind, "audio_and_video"),
                    "uid": "0" if mix else track.uid,
                    "mixedAllUser": mix,
                    "isPlayable": True,
                    "sliceStartTime": _ms(track.started_at),
                }
            )
    return files


def web_files(recording: Recording, now: float) -> list[dict[str, Any]]:
    """The web recorder's ``fileList``: ``{filename, sliceStartTime}`` (lowercase key)."""
    files: list[dict[str, Any]] = []
    for track in recording.tracks:
        start = _ms(track.started_at)
        files.append({"filename": first_index_name(recording, track), "sliceStartTime": start})
        if "mp4" in recording.av_file_types:
            for index in range(_mp4_count(recording, track, now)):
                name = f"{_base(recording, track)}_{index}.mp4"
                files.append({"filename": name, "sliceStartTime": start})
    return files


def transcoded_files(recording: Recording) -> dict[str | None, list[str]]:
    """The files postponed transcoding (one MP4 per user) or audio mixing (one audio file)
    makes of ``recording``, by user (``None`` for the mixed audio)."""
    uids = sorted({t.uid for t in recording.tracks if t.kind in ("audio", "video")}, key=int)
    plan = expected_files(
        recording.mode,
        sid=recording.sid,
        cname=recording.cname,
        uids=uids,
        config=recording.request,
    )
    outputs: dict[str | None, list[str]] = {}
    for file in plan.expected:
        if file.kind in (FileKind.MP4, FileKind.AUDIO):
            outputs.setdefault(file.uid, []).append(file.name)
    return outputs


def file_names(recording: Recording, now: float) -> list[str]:
    """The names of every file of ``recording`` so far: ``fileList`` order, then screenshots,
    then the output of postponed transcoding once the recording has ended."""
    if recording.is_web:
        return [f["filename"] for f in web_files(recording, now)]
    names = [f["fileName"] for f in file_infos(recording, now)]
    if recording.backup_upload and recording.exit_at is not None:
        # Index files re-uploaded from Agora's backup cloud; the tick is the emulator's choice
        # (milliseconds since the start), the service documents only its place in the name.
        tick = round((recording.exit_at - recording.started_at) * 1000)
        names += [backup_index_name(n, tick, 0) for n in names if n.endswith(".m3u8")]
    names += recording.snapshots
    if recording.postponed and not recording.running:
        names += [name for files in transcoded_files(recording).values() for name in files]
    return names


def _service_state(recording: Recording, now: float) -> str:
    if not recording.running:
        return "exit"
    return "inProgress" if status_at(recording, now) >= 4 else "init"


def _slice_start(recording: Recording) -> int:
    first = min((t.started_at for t in recording.tracks), default=recording.started_at)
    return _ms(first)


def _file_list(recording: Recording, now: float) -> dict[str, Any]:
    """``fileListMode`` + ``fileList`` of an individual or mix recording."""
    if recording.mode == "mix" and "mp4" not in recording.av_file_types:
        if not recording.tracks:
            return {"fileListMode": "string"}
        return {
            "fileListMode": "string",
            "fileList": first_index_name(recording, recording.tracks[-1]),
        }
    return {"fileListMode": "json", "fileList": file_infos(recording, now)}


def _web_recorder_state(recording: Recording, now: float) -> dict[str, Any]:
    return {
        "serviceName": "web_recorder_service",
        "payload": {
            "fileList": web_files(recording, now),
            "onhold": recording.onhold,
            "state": _service_state(recording, now),
        },
    }


def _rtmp_state(recording: Recording, now: float) -> dict[str, Any]:
    if not recording.running:
        status = "disconnected"
    elif recording.onhold:
        status = "onhold"
    else:
        status = "publishing" if status_at(recording, now) >= 4 else "connecting"
    return {
        "serviceName": "rtmp_publish_service",
        "payload": {
            "outputs": [{"rtmpUrl": url, "status": status} for url in recording.rtmp_outputs],
            "state": _service_state(recording, now),
        },
    }


def query_response(recording: Recording, now: float) -> dict[str, Any]:
    """The ``serverResponse`` of ``query`` for this recording's mode and configuration."""
    status = status_at(recording, now)
    if recording.is_web:
        states = [_web_recorder_state(recording, now)]
        if recording.rtmp_outputs:
            states.append(_rtmp_state(recording, now))
        return {"status": status, "extensionServiceState": states}
    if recording.snapshot_only_shape:
        return {"status": status, "sliceStartTime": _slice_start(recording)}
    return {
        "status": status,
        **_file_list(recording, now),
        "sliceStartTime": _slice_start(recording),
    }


def stop_response(recording: Recording, now: float, uploading_status: str) -> dict[str, Any]:
    """The ``serverResponse`` of ``stop`` for this recording's mode and configuration."""
    if recording.is_web:
        upload = {"serviceName": "upload_service", "payload": {"uploadingStatus": uploading_status}}
        return {"extensionServiceState": [upload, _web_recorder_state(recording, now)]}
    if recording.snapshot_only_shape:
        return {"uploadingStatus": uploading_status}
    return {**_file_list(recording, now), "uploadingStatus": uploading_status}
