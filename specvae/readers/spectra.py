"""``read_spectra(path)``: one entry point for every spectrum format, dispatching on the file extension.

=========  ======================================  ================================
extension  format                                  reader
=========  ======================================  ================================
``.msp``   NIST/MassBank/RIKEN/MoNA MSP            :mod:`specvae.readers.msp`
``.mgf``   Mascot generic format (GNPS, CASMI)     :mod:`specvae.readers.mgf`
``.mzml``  mzML runs (MS2 scans only)              :mod:`specvae.readers.mzml` (pyteomics)
``.json``  MoNA or GNPS JSON library               :mod:`specvae.readers.jsonfmt`
=========  ======================================  ================================

Each may be gzip-compressed (``.gz``; compression is recognised by content, the suffix only selects the format).
Unusable records are yielded too, with ``error`` set (see :class:`~specvae.readers.records.SpectrumRecord`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from specvae.errors import InputError
from specvae.readers.records import SpectrumRecord
from specvae.readers.textio import check_readable, text_chunks

FORMATS = {".msp": "msp", ".mgf": "mgf", ".mzml": "mzml", ".json": "json", ".jsonl": "json"}


def detect_format(path) -> str:
    """``"msp"``, ``"mgf"``, ``"mzml"`` or ``"json"`` from the file name (a ``.gz`` suffix is looked through)."""
    name = os.path.basename(os.fspath(path)).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    ext = os.path.splitext(name)[1]
    try:
        return FORMATS[ext]
    except KeyError:
        raise InputError(f"cannot tell the format of {os.fspath(path)!r} from its extension {ext or '(none)'!r}; "
                         "name it .msp, .mgf, .mzML or .json (optionally followed by .gz)") from None


@dataclass(slots=True)
class TextTask:
    """A chunk of whole records of a text file, to be parsed (possibly in another process)."""

    fmt: str
    text: str
    source: str
    first_line: int
    last: bool
    truncated: bool
    non_utf8: bool
    header: dict

    def parse(self) -> list[SpectrumRecord]:
        """Records of the chunk, numbered from 0 within it."""
        if self.fmt == "msp":
            from specvae.readers.msp import parse_msp_text

            records = parse_msp_text(self.text, self.source, self.first_line, self.last, self.truncated)
        else:
            from specvae.readers.mgf import parse_mgf_text

            records = parse_mgf_text(self.text, self.source, self.first_line, self.last, self.truncated,
                                     self.header)
        if self.non_utf8:
            for r in records:
                if any("\ufffd" in v for v in r.metadata.values() if isinstance(v, str)):
                    r.metadata["non_utf8"] = True
        return records


def iter_tasks(path, source: str | None = None, info: dict | None = None) -> Iterator[TextTask | list]:
    """Work units of a file: :class:`TextTask` chunks for MSP/MGF, lists of parsed records for mzML/JSON.

    ``info`` (optional) receives facts about the file: ``format``, ``truncated``, ``non_utf8``, ``bytes``,
    ``ms1_scans_skipped``, ``no_final_newline`` (a text file whose last line has no line break: its last value may
    have been cut).
    """
    fmt = detect_format(path)
    check_readable(path)
    source = os.fspath(path) if source is None else source
    info = {} if info is None else info
    info.update(format=fmt, truncated=False, non_utf8=False)
    if fmt in ("msp", "mgf"):
        from specvae.readers.mgf import cut_mgf, header_params
        from specvae.readers.msp import cut_msp

        header: dict | None = None
        for chunk in text_chunks(path, cut_msp if fmt == "msp" else cut_mgf, fmt=fmt):
            if header is None:
                header = header_params(chunk.text) if fmt == "mgf" else {}
            info["truncated"] |= chunk.truncated
            info["non_utf8"] |= chunk.non_utf8
            info["bytes"] = chunk.bytes_read
            if chunk.last:
                info["no_final_newline"] = bool(chunk.text.strip()) and not chunk.text.endswith("\n")
            yield TextTask(fmt, chunk.text, source, chunk.first_line, chunk.last, chunk.truncated, chunk.non_utf8,
                           header)
        return
    if fmt == "mzml":
        from specvae.readers.mzml import read_mzml

        skipped: list = []
        records = read_mzml(path, source, skipped)
    else:
        from specvae.readers.jsonfmt import read_json

        records = read_json(path, source)
    batch: list = []
    record = None
    for record in records:
        batch.append(record)
        if len(batch) >= 2000:
            yield batch
            batch = []
    if batch:
        yield batch
    if fmt == "mzml":
        info["ms1_scans_skipped"] = len(skipped)
    if record is not None and record.error == "truncated_record":
        info["truncated"] = True
    info["bytes"] = os.path.getsize(path)


def read_spectra(path) -> Iterator[SpectrumRecord]:
    """Every record of a spectrum file (MSP, MGF, mzML, MoNA/GNPS JSON; each optionally gzip-compressed).

    Parameters
    ----------
    path
        The file; its format is chosen by extension (``.msp``, ``.mgf``, ``.mzML``, ``.json``, each optionally
        followed by ``.gz``).

    Yields
    ------
    SpectrumRecord
        In file order, with ``record`` counting from 0. Records that cannot be used have ``error`` set (a reason
        code) and ``detail``; check ``record.error is None`` before using the peaks.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError
        When the file cannot be opened.
    specvae.errors.InputError
        When the extension names no known format.
    """
    offset = 0
    for task in iter_tasks(path):
        if isinstance(task, TextTask):
            records = task.parse()
            for r in records:
                r.record += offset
            offset += len(records)
            yield from records
        else:
            yield from task
