"""Writing an ingested dataset directory atomically: ``dataset.parquet``, ``rejects.jsonl``, ``report.json``.

Everything is written into a staging directory beside ``DIR`` (``.DIR.tmp-*``, :func:`specvae.outputs.staging`),
which then replaces ``DIR`` with one ``os.replace``. An interrupted run leaves at most a ``.DIR.tmp-*`` directory,
which no command reads and the next ingest into ``DIR`` removes; ``DIR`` is either the previous complete dataset or
the new complete one. An existing ``DIR`` is replaced only with ``overwrite=True`` and only when specvae wrote it (its
marker file, or for datasets of earlier versions ``dataset.parquet`` and ``report.json``), so a mistyped path never
deletes a folder. One ingest at a time may write ``DIR`` (:func:`specvae.outputs.locked`).
"""

from __future__ import annotations

import json
from pathlib import Path

from specvae import outputs, schema

KIND = "dataset"


def check_out_dir(out_dir, overwrite: bool) -> Path:
    """Validate the output directory before any work: refuse to clobber, create the parent."""
    out = Path(out_dir)
    outputs.check_replaceable(out, KIND, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def write_dataset(out: Path, table, rejects: list[dict], report: dict, overwrite: bool,
                  extra: dict[str, str] | None = None) -> None:
    """Write the three files (and ``extra``: file name -> text) into a staging directory and move it into place.

    The caller holds :func:`specvae.outputs.locked` for ``out``.
    """
    import pyarrow.parquet as pq

    tmp = outputs.staging(out, KIND)
    try:
        pq.write_table(table, tmp / schema.DATASET_FILE, compression="zstd", row_group_size=65536)
        with open(tmp / schema.REJECTS_FILE, "w", encoding="utf-8") as fh:
            for item in rejects:
                fh.write(json.dumps(item, ensure_ascii=False))
                fh.write("\n")
        with open(tmp / schema.REPORT_FILE, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        for name, text in (extra or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        check_out_dir(out, overwrite)
        outputs.publish(tmp, out, KIND)
    finally:
        outputs.discard(tmp)
