"""The names of a recording's files, predicted from its configuration, and a bucket listing
matched against them (pure functions, no I/O).

Agora's "Manage recorded files" page gives the naming rules; ``stop`` and ``query`` report only
some of the files (never screenshots, never the slices), so this module says what to look for in
your bucket::

    plan = expected_files(handle.mode, sid=handle.sid, cname=handle.cname, uids=["7"],
                          config=start_config)
    report = plan.match(object_keys_in_my_bucket)
    report.missing      # expected index files that are not there (yet)
    report.backups      # index files re-uploaded from Agora's backup cloud, bak<n>_ files

The rules, each object key starting with ``storageConfig.fileNamePrefix`` joined with ``/``:

* raw (today's individual recording, Agora's "Individual recording migration guide"): one
  audio+video index per user, ``<sid>_<cname>__uid_s_<uid>__uid_e_<video codec>.m3u8``, and with
  ``avFileType`` ``["hls", "mp4"]`` MP4s ``..._uid_e_<index>_<video codec>.mp4``; the guide names
  no file of a user who publishes audio only, and this module uses the audio codec (``aac``)
  there, as the emulator does. ``avFileType`` ``["mp3"]`` gives each user an MP3 (the guide:
  "for audio-only use cases ... output audio files directly") and no HLS; no page names that
  file, so this module expects ``..._uid_e_<index>_mp3.mp3`` after the MP4 pattern and
  `FilePlan.match` accepts any ``.mp3`` of that user in its place (``ExpectedFile.exact`` is
  False for every name a page does not give);
* legacy individual: ``<sid>_<cname>__uid_s_<uid>__uid_e_<type>.m3u8``
  per user and ``audio``/``video`` track, slices ``..._<utc>.ts`` (or ``.webm``, Web VP8);
  ``streamMode: "standard"`` adds a merged ``..._av.m3u8`` (``..._av.mpd`` for Web VP8);
* composite (``mix``) and web: ``<sid>_<cname>.m3u8``, slices ``<sid>_<cname>_<utc>.ts``, MP4s
  ``<sid>_<cname>_<index>.mp4`` from index 0; in web names these characters of the channel name
  become ``-``: ``! @ # $ % ^ & * ( ) + _ . = [ ] { } ~ | , ; : ? < >``;
* screenshots: ``<sid>_<cname>__uid_s_<uid>__uid_e_video_<utc>.jpg`` (NCS event 45 names each),
  in raw mode too: the screen-capture guide's raw edition keeps ``video_``, which only the
  migration guide's list of names leaves out;
* postponed transcoding: ``<sid>_<cname>__uid_s_<uid>__uid_e_<index>.mp4`` per user (and no
  index file); postponed audio mixing: the users' audio index files and one
  ``<sid>_<cname>_<index>.<format>`` (``mp3`` unless ``container.format`` says);
* an index file re-uploaded from Agora's backup cloud: ``<index name>_<tick>_<n>.m3u8``; every file
  written after the n-th high-availability failover: ``bak<n-1>_`` before the name.

``<utc>`` is ``YYYYMMDDhhmmssSSS`` in UTC. The merged ``av`` names are not on Agora's page; they
are the names the service is seen to write.
"""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ._converter import converter
from .enums import TrackType
from .models import StartConfig

__all__ = [
    "BucketReport",
    "ExpectedFile",
    "FileKind",
    "FilePlan",
    "backup_index_name",
    "composite_name",
    "expected_files",
    "file_name_prefix",
    "individual_name",
    "raw_name",
    "snapshot_name",
    "utc_stamp",
    "web_cname",
]

_WEB_UNSAFE = re.compile(r"[!@#$%^&*()+_.=\[\]{}~|,;:?<>]")
_POSTPONE = "postpone_transcoding"


class FileKind(str, enum.Enum):
    """What a recorded file is."""

    INDEX = "index"
    """An M3U8 (or MPD) playlist: the file to play or merge from."""
    SLICE = "slice"
    """A TS or WebM slice an index refers to."""
    MP4 = "mp4"
    """An MP4 (composite, web, postponed transcoding)."""
    AUDIO = "audio"
    """An audio file: postponed audio mixing's (MP3, M4A, AAC) or raw mode's MP3."""
    SNAPSHOT = "snapshot"
    """A JPG screenshot."""


@attrs.frozen(kw_only=True)
class ExpectedFile:
    """A file a recording is expected to write, by its full object key."""

    name: str
    kind: FileKind
    uid: str | None = None
    """The recorded user (``None`` for composite and web files)."""
    track_type: TrackType | None = None
    exact: bool = True
    """False when Agora documents the file but not its name (raw mode's MP3s and audio-only
    indexes): ``name`` is then this module's guess, and `FilePlan.match` takes any object of
    the same user with the same extension for it."""


def web_cname(cname: str) -> str:
    """The channel name as web recording writes it in file names."""
    return _WEB_UNSAFE.sub("-", cname)


def file_name_prefix(parts: Iterable[str] | None) -> str:
    """``storageConfig.fileNamePrefix`` as the start of an object key (``"a/b/"``, or ``""``)."""
    joined = "/".join(str(part) for part in parts or ())
    return f"{joined}/" if joined else ""


def utc_stamp(unix_seconds: float) -> str:
    """``YYYYMMDDhhmmssSSS`` in UTC: the time part of slice and screenshot names."""
    millis = round(unix_seconds * 1000)
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(millis // 1000)) + f"{millis % 1000:03d}"


def _bak(epoch: int) -> str:
    return f"bak{epoch - 1}_" if epoch else ""


def individual_name(
    sid: str, cname: str, uid: str, kind: str, *, prefix: str = "", epoch: int = 0
) -> str:
    """``<sid>_<cname>__uid_s_<uid>__uid_e_<kind>``: the stem of a user's files (no extension).

    ``kind`` is ``audio``, ``video`` or ``av``; ``epoch`` n > 0 adds the ``bak<n-1>_`` prefix.
    """
    return f"{prefix}{_bak(epoch)}{sid}_{cname}__uid_s_{uid}__uid_e_{kind}"


def raw_name(
    sid: str,
    cname: str,
    uid: str,
    codec: str = "h264",
    *,
    index: int | None = None,
    prefix: str = "",
    epoch: int = 0,
) -> str:
    """The stem of a raw recording's file of ``uid`` (no extension): the index
    ``..._uid_e_<codec>`` or, with ``index``, the MP4 ``..._uid_e_<index>_<codec>``.

    ``codec`` is the video codec the service records in (``h264`` unless configured otherwise).
    """
    kind = codec if index is None else f"{index}_{codec}"
    return individual_name(sid, cname, uid, kind, prefix=prefix, epoch=epoch)


def composite_name(
    sid: str, cname: str, *, web: bool = False, prefix: str = "", epoch: int = 0
) -> str:
    """``<sid>_<cname>``: the stem of composite and web files (no extension)."""
    name = web_cname(cname) if web else cname
    return f"{prefix}{_bak(epoch)}{sid}_{name}"


def snapshot_name(
    sid: str, cname: str, uid: str, unix_seconds: float, *, prefix: str = "", epoch: int = 0
) -> str:
    """The object key of a screenshot of ``uid`` taken at ``unix_seconds``."""
    stem = individual_name(sid, cname, uid, "video", prefix=prefix, epoch=epoch)
    return f"{stem}_{utc_stamp(unix_seconds)}.jpg"


def backup_index_name(index_name: str, tick: int, index: int) -> str:
    """The name an M3U8 index file gets when Agora's backup cloud re-uploads it:
    ``<stem>_<tick>_<index>.m3u8`` (TS, WebM and MP4 files keep their names)."""
    stem = index_name.removesuffix(".m3u8")
    return f"{stem}_{tick}_{index}.m3u8"


_BACKUP_INDEX = re.compile(r"_\d+_\d+\.m3u8$")


def _request(config: StartConfig | Mapping[str, Any] | None) -> Mapping[str, Any]:
    if config is None:
        return {}
    if isinstance(config, StartConfig):
        wire: Mapping[str, Any] = converter.unstructure(config)
        return wire
    return config


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        obj = obj.get(key) if isinstance(obj, Mapping) else None
    return obj


@attrs.frozen(kw_only=True)
class BucketReport:
    """A bucket listing matched against a `FilePlan`."""

    found: tuple[str, ...]
    """Expected files that are there."""
    missing: tuple[ExpectedFile, ...]
    """Expected files that are not there (not uploaded yet, or lost)."""
    backups: tuple[str, ...]
    """Files of this recording written after a failover (``bak<n>_``) or re-uploaded from
    Agora's backup cloud (``..._<tick>_<n>.m3u8``): merge them with the others."""
    slices: tuple[str, ...]
    """Slices, screenshots and further MP4s of this recording."""
    other: tuple[str, ...]
    """Objects that are not this recording's."""


@attrs.frozen(kw_only=True)
class FilePlan:
    """The files a recording writes: those known ahead (`expected`) and the patterns of the rest."""

    sid: str
    cname: str
    prefix: str
    expected: tuple[ExpectedFile, ...]
    stems: tuple[str, ...]
    """The name stems (prefix excluded) every file of the recording starts with."""

    def _parts(self, key: str) -> tuple[str, bool] | None:
        """(name without prefix and ``bak<n>_``, whether it had ``bak<n>_``), if ours."""
        if not key.startswith(self.prefix):
            return None
        name = key[len(self.prefix) :]
        bak = re.match(r"bak\d+_", name)
        if bak:
            name = name[bak.end() :]
        if any(name.startswith(stem) for stem in self.stems):
            return name, bak is not None
        return None

    def _stand_in(self, file: ExpectedFile, keys: list[str], taken: set[str]) -> str | None:
        """The object of ``keys`` that is ``file`` under another name: the same user's stem and
        extension (no ``bak<n>_``, no backup-cloud index), not already matched."""
        extension = file.name.rsplit(".", 1)[-1]
        stem = individual_name(self.sid, self.cname, file.uid or "", "", prefix=self.prefix)
        for key in keys:
            if (
                key not in taken
                and key.startswith(stem)
                and key.endswith(f".{extension}")
                and not _BACKUP_INDEX.search(key)
            ):
                return key
        return None

    def match(self, listing: Iterable[str]) -> BucketReport:
        """Sort the object keys of ``listing`` (a bucket listing) against this plan; a file whose
        name no page gives (``exact`` False) is found under any name of its user and kind."""
        keys = list(dict.fromkeys(listing))
        found = {file.name for file in self.expected} & set(keys)
        satisfied = set(found)
        for file in self.expected:
            if not file.exact and file.name not in satisfied:
                stand_in = self._stand_in(file, keys, found)
                if stand_in is not None:
                    found.add(stand_in)
                    satisfied.add(file.name)
        backups: list[str] = []
        slices: list[str] = []
        other: list[str] = []
        for key in keys:
            if key in found:
                continue
            parts = self._parts(key)
            if parts is None:
                other.append(key)
            elif parts[1] or _BACKUP_INDEX.search(parts[0]):
                backups.append(key)
            else:
                slices.append(key)
        return BucketReport(
            found=tuple(key for key in keys if key in found),
            missing=tuple(file for file in self.expected if file.name not in satisfied),
            backups=tuple(backups),
            slices=tuple(slices),
            other=tuple(other),
        )


def expected_files(
    mode: str,
    *,
    sid: str,
    cname: str,
    uids: Iterable[str | int] = (),
    config: StartConfig | Mapping[str, Any] | None = None,
    vp8_uids: Iterable[str | int] = (),
) -> FilePlan:
    """The files recording ``sid`` of ``cname`` in ``mode`` writes for users ``uids``.

    ``config`` is the start ``clientRequest`` (a `StartConfig` or its wire dict): its
    ``fileNamePrefix``, ``streamTypes``, ``streamMode``, ``avFileType``, ``snapshotConfig`` and
    postponed transcoding settings decide the names. ``vp8_uids`` are the users who publish
    from a browser with VP8 (their merged standard-mode index is an MPD). Individual modes
    (``raw``, ``individual``) need ``uids``; composite and web files do not depend on them.
    """
    mode = str(getattr(mode, "value", mode))
    request = _request(config)
    prefix = file_name_prefix(_get(request, "storageConfig", "fileNamePrefix"))
    av_types = _get(request, "recordingFileConfig", "avFileType") or ["hls"]
    files: list[ExpectedFile] = []
    if mode in ("mix", "web"):
        stem = composite_name(sid, cname, web=mode == "web")
        files.append(ExpectedFile(name=f"{prefix}{stem}.m3u8", kind=FileKind.INDEX))
        if "mp4" in av_types:
            files.append(ExpectedFile(name=f"{prefix}{stem}_0.mp4", kind=FileKind.MP4))
        return FilePlan(sid=sid, cname=cname, prefix=prefix, expected=tuple(files), stems=(stem,))
    users = [str(uid) for uid in uids]
    if mode == "raw":
        return _raw_plan(sid, cname, users, request, prefix, av_types)
    vp8 = {str(uid) for uid in vp8_uids}
    recording = _get(request, "recordingConfig")
    recording = recording if isinstance(recording, Mapping) else {}
    stream_types = recording.get("streamTypes", 2)
    kinds = {0: ("audio",), 1: ("video",)}.get(stream_types, ("audio", "video"))
    snapshot_only = "snapshotConfig" in request and "recordingFileConfig" not in request
    postponed = _get(request, "appsCollection", "combinationPolicy") == _POSTPONE
    trans_mode = _get(request, "transcodeOptions", "transConfig", "transMode")
    stems = [individual_name(sid, cname, uid, "") for uid in users]
    if postponed and trans_mode == "audioMix":
        audio = _get(request, "transcodeOptions", "container", "format") or "mp3"
        stem = composite_name(sid, cname)
        files.append(ExpectedFile(name=f"{prefix}{stem}_0.{audio}", kind=FileKind.AUDIO))
        stems.append(f"{stem}_")
    for uid in users:
        if postponed and trans_mode != "audioMix":
            name = f"{prefix}{individual_name(sid, cname, uid, '0')}.mp4"
            files.append(ExpectedFile(name=name, kind=FileKind.MP4, uid=uid))
            continue
        if snapshot_only:
            continue
        for kind in kinds:
            name = f"{prefix}{individual_name(sid, cname, uid, kind)}.m3u8"
            files.append(
                ExpectedFile(name=name, kind=FileKind.INDEX, uid=uid, track_type=TrackType(kind))
            )
        if recording.get("streamMode") == "standard" and len(kinds) == 2:
            extension = "mpd" if uid in vp8 else "m3u8"
            name = f"{prefix}{individual_name(sid, cname, uid, 'av')}.{extension}"
            files.append(
                ExpectedFile(
                    name=name, kind=FileKind.INDEX, uid=uid, track_type=TrackType.AUDIO_AND_VIDEO
                )
            )
    return FilePlan(sid=sid, cname=cname, prefix=prefix, expected=tuple(files), stems=tuple(stems))


def _raw_plan(
    sid: str,
    cname: str,
    users: list[str],
    request: Mapping[str, Any],
    prefix: str,
    av_types: list[str],
) -> FilePlan:
    """Raw mode: per user one audio+video index (the audio codec for audio-only recordings),
    MP4s with ``"mp4"``, and an MP3 instead of HLS with ``"mp3"`` alone."""
    recording = _get(request, "recordingConfig")
    audio_only = isinstance(recording, Mapping) and recording.get("streamTypes") == 0
    codec, track = ("aac", TrackType.AUDIO) if audio_only else ("h264", TrackType.AUDIO_AND_VIDEO)
    snapshot_only = "snapshotConfig" in request and "recordingFileConfig" not in request
    files: list[ExpectedFile] = []
    for uid in [] if snapshot_only else users:
        if "hls" in av_types:
            name = f"{prefix}{raw_name(sid, cname, uid, codec)}.m3u8"
            files.append(
                ExpectedFile(
                    name=name, kind=FileKind.INDEX, uid=uid, track_type=track, exact=not audio_only
                )
            )
        if "mp4" in av_types:
            name = f"{prefix}{raw_name(sid, cname, uid, codec, index=0)}.mp4"
            files.append(
                ExpectedFile(
                    name=name, kind=FileKind.MP4, uid=uid, track_type=track, exact=not audio_only
                )
            )
        if "mp3" in av_types:
            name = f"{prefix}{raw_name(sid, cname, uid, 'mp3', index=0)}.mp3"
            files.append(
                ExpectedFile(
                    name=name, kind=FileKind.AUDIO, uid=uid, track_type=TrackType.AUDIO, exact=False
                )
            )
    stems = tuple(individual_name(sid, cname, uid, "") for uid in users)
    return FilePlan(sid=sid, cname=cname, prefix=prefix, expected=tuple(files), stems=stems)
