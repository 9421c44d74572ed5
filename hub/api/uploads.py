"""Receiving a file upload: a ``multipart/form-data`` body streamed to disk under a size cap.

Starlette's form parsing reads the whole body before the route runs, spools it to the
system's temp directory and has no cap for files. A publish upload may be large, so the body
is read chunk by chunk from ``request.stream()`` through python-multipart's streaming parser,
the file part written straight into a fresh folder under the data directory, and the upload
refused (:class:`UploadTooLarge`) the moment its file passes the cap, whatever
``Content-Length`` claimed (it is checked too, only to refuse early).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

FORM_OVERHEAD_BYTES = 64 * 1024  # boundaries, part headers and the small option fields
_FIELD_MAX_BYTES = 1024
_PARTIAL_NAME = ".upload-in-progress"


class UploadTooLarge(Exception):
    """The upload passed the size cap (413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the file is larger than this hub accepts ({max_bytes // 2**20} MiB, "
                         "HUB_MAX_UPLOAD_MB)")
        self.max_bytes = max_bytes


class BadUpload(ValueError):
    """The body is not a ``multipart/form-data`` form with exactly one file (400)."""


@dataclass
class Upload:
    """A received form: the file on disk under its sanitised original name, in a folder of
    its own (remove it with :meth:`discard`), and the form's other fields."""

    folder: Path
    path: Path
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def safe_file_name(name: str | None, fallback: str = "upload") -> str:
    """The last path segment of a client's file name, without control characters or leading
    dots, at most 200 bytes (suffix kept), so it can name a file and appear in reports as the
    staff sent it (Japanese names included)."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    base = base.lstrip(".").strip()
    if not base:
        return fallback
    stem, dot, suffix = base.rpartition(".")
    if not dot or len(suffix) > 16:
        stem, suffix = base, ""
    while len((stem + (f".{suffix}" if suffix else "")).encode()) > 200:
        stem = stem[:-1]
    return stem + (f".{suffix}" if suffix else "")


class _FormWriter:
    """python-multipart callbacks: the file part goes to disk, small fields to memory."""

    def __init__(self, folder: Path, file_field: str, max_bytes: int) -> None:
        self.folder = folder
        self.file_field = file_field
        self.max_bytes = max_bytes
        self.fields: dict[str, str] = {}
        self.file_name: str | None = None
        self.file_bytes = 0
        self.too_large = False
        self.problem: str | None = None
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._field: str | None = None
        self._value = bytearray()
        self._out: IO[bytes] | None = None

    def callbacks(self) -> dict[str, object]:
        return {"on_part_begin": self._part_begin, "on_header_field": self._header_field_data,
                "on_header_value": self._header_value_data, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
                "on_part_end": self._part_end}

    def _part_begin(self) -> None:
        self._headers, self._field, self._value = {}, None, bytearray()

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        _disposition, options = parse_options_header(
            self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        self._field = name
        if name != self.file_field:
            return
        if self.file_name is not None:
            self.problem = f"send one file in the form field {self.file_field!r}, not several"
            return
        raw_name = options.get(b"filename")
        self.file_name = safe_file_name(raw_name.decode("utf-8", "replace") if raw_name
                                        else None)
        self._out = open(self.folder / _PARTIAL_NAME, "wb")  # noqa: SIM115 (closed at part end)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._out is not None:
            self.file_bytes += end - start
            if self.file_bytes > self.max_bytes:
                self.too_large = True
                return
            self._out.write(data[start:end])
        elif len(self._value) + end - start > _FIELD_MAX_BYTES:
            self.problem = f"the form field {self._field!r} is longer than {_FIELD_MAX_BYTES} bytes"
        else:
            self._value += data[start:end]

    def _part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        elif self._field and self._field != self.file_field:
            self.fields[self._field] = self._value.decode("utf-8", "replace")

    def close(self) -> None:
        if self._out is not None:
            self._out.close()


async def receive_upload(request: Request, uploads_dir: Path, max_bytes: int,
                         file_field: str = "file") -> Upload:
    """Stream the request's form into a new folder under ``uploads_dir``; the caller owns the
    returned :class:`Upload` and discards it. Raises :class:`UploadTooLarge` or
    :class:`BadUpload`, leaving nothing on disk."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise BadUpload("send the file as multipart/form-data (curl -F file=@data.csv)")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + FORM_OVERHEAD_BYTES:
        raise UploadTooLarge(max_bytes)
    uploads_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=uploads_dir))
    writer = _FormWriter(folder, file_field, max_bytes)
    parser = MultipartParser(boundary, writer.callbacks())  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes + FORM_OVERHEAD_BYTES:
                writer.too_large = True
            else:
                parser.write(chunk)
            if writer.too_large:
                raise UploadTooLarge(max_bytes)
            if writer.problem:
                raise BadUpload(writer.problem)
        parser.finalize()
    except Exception as exc:
        writer.close()
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(exc, (UploadTooLarge, BadUpload)):
            raise
        raise BadUpload(f"the form could not be read: {exc}") from exc
    writer.close()
    if writer.file_name is None:
        shutil.rmtree(folder, ignore_errors=True)
        raise BadUpload(f"the form has no file field {file_field!r} "
                        f"(curl -F {file_field}=@data.csv)")
    path = folder / writer.file_name
    (folder / _PARTIAL_NAME).rename(path)
    return Upload(folder=folder, path=path, fields=writer.fields)
