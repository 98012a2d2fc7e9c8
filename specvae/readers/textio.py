"""Reading text formats in chunks of whole records: gzip, CRLF line endings, non-UTF-8 bytes, truncated files.

A text input (MSP, MGF) is read as raw bytes (gzip is recognised by its magic bytes, whatever the file is called),
line endings are normalised to ``\\n``, and the stream is cut into :class:`TextChunk` objects at record boundaries, so
that each chunk can be parsed on its own (by another process when ``--workers`` > 1). Bytes that are not UTF-8 are
decoded as U+FFFD (the record is kept and counted; a structure or peak line containing them fails on its own). A
gzip stream that ends early or is corrupt marks the last chunk ``truncated``; the parser then reports its last,
incomplete record as ``truncated_record``. A file whose first block is mostly not text (NUL and other control
bytes: an image, an archive, a binary format saved under a text extension) is refused as a whole
(:func:`check_text`).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from specvae.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
BLOCK_BYTES = 4 << 20  # bytes read (decompressed) per step; chunks hold whole records and are about this size


@dataclass(slots=True)
class TextChunk:
    """Whole records of a text file: ``text`` starts at line ``first_line`` (1-based)."""

    text: str
    first_line: int
    last: bool  # the final chunk of the file
    truncated: bool  # the gzip stream ended early or is corrupt (only ever set on the last chunk)
    non_utf8: bool  # some bytes were not UTF-8 and were replaced by U+FFFD
    bytes_read: int  # raw (compressed) bytes consumed so far, for progress bars


def check_readable(path) -> None:
    """Raise ``FileNotFoundError``/``IsADirectoryError``/``PermissionError`` for an input that cannot be read."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, "input file not found", path)
    if os.path.isdir(path):
        raise IsADirectoryError(21, "input is a directory, not a file", path)
    if not os.access(path, os.R_OK):
        raise PermissionError(13, "input file is not readable", path)


_CONTROL = bytes(set(range(32)) - {9, 10, 12, 13})  # control bytes that text files do not hold (tab, LF, FF, CR do)


def check_text(data: bytes, path, fmt: str) -> None:
    """Raise :class:`InputError` when ``data`` (the start of a file) is not text: more than 5 % of its bytes are NUL
    or other control characters. A stray byte in a real text file stays far below that."""
    sample = data[:65536]
    if sample and len(sample) - len(sample.translate(None, _CONTROL)) > 0.05 * len(sample):
        raise InputError(f"{os.fspath(path)} is not a text {fmt.upper()} file: it holds binary data (control bytes); "
                         "check that the file is what its name says")


def is_gzip(path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def raw_blocks(path, block_bytes: int = BLOCK_BYTES) -> Iterator[tuple[bytes, int, bool]]:
    """Yield ``(data, raw_bytes_consumed, truncated)`` decompressing gzip (multi-member) when present.

    ``truncated`` is True only on the last block, when a gzip stream ended early or was corrupt.
    """
    check_readable(path)
    gz = is_gzip(path)
    with open(path, "rb") as fh:
        if not gz:
            while True:
                data = fh.read(block_bytes)
                if not data:
                    return
                yield data, fh.tell(), False
        decomp = zlib.decompressobj(wbits=31)
        while True:
            raw = fh.read(block_bytes // 4)
            if not raw:
                yield decomp.flush(), fh.tell(), not decomp.eof
                return
            try:
                out = [decomp.decompress(raw)]
                while decomp.eof and decomp.unused_data:  # another gzip member follows
                    rest = decomp.unused_data
                    decomp = zlib.decompressobj(wbits=31)
                    out.append(decomp.decompress(rest))
            except zlib.error:
                yield b"", fh.tell(), True
                return
            yield b"".join(out), fh.tell(), False


def text_chunks(path, cut: Callable[[bytes], int], block_bytes: int = BLOCK_BYTES, *,
                fmt: str = "text") -> Iterator[TextChunk]:
    """Chunks of whole records. ``cut(buffer)`` returns the end of the last complete record in ``buffer`` (0: none).

    Raises :class:`InputError` when the file does not start as text (:func:`check_text`).
    """
    buffer = b""
    line = 1
    pending: tuple | None = None  # the previous chunk, held back until we know whether it is the last

    def make(data: bytes, last: bool, truncated: bool, consumed: int) -> TextChunk:
        if line == 1 and data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark is not part of the text
            data = data[3:]
        try:
            text, bad = data.decode("utf-8"), False
        except UnicodeDecodeError:
            text, bad = data.decode("utf-8", errors="replace"), True
        return TextChunk(text, 0, last, truncated, bad, consumed)

    truncated = False
    consumed = 0
    carry = b""  # a trailing "\r" held back in case the next block starts with "\n"
    checked = False
    for data, consumed, truncated in raw_blocks(path, block_bytes):  # noqa: B007 (truncated: used after)
        if not checked:
            check_text(data, path, fmt)
            checked = True
        data = carry + data
        carry = b""
        if data.endswith(b"\r"):
            data, carry = data[:-1], b"\r"
        buffer += _normalise_newlines(data)
        if len(buffer) < block_bytes:
            continue
        end = cut(buffer)
        if end <= 0:
            continue
        body, buffer = buffer[:end], buffer[end:]
        if pending is not None:
            yield pending
        pending = make(body, False, False, consumed)
        pending.first_line = line
        line += body.count(b"\n")
    buffer += _normalise_newlines(carry)
    if pending is not None:
        if not buffer:
            pending.last, pending.truncated = True, truncated
            yield pending
            return
        yield pending
    chunk = make(buffer, True, truncated, consumed)
    chunk.first_line = line
    yield chunk


def _normalise_newlines(data: bytes) -> bytes:
    if b"\r" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
