"""Writing an ingested dataset directory atomically: ``dataset.parquet``, ``rejects.jsonl``, ``report.json``.

Everything is written into a temporary sibling directory (``.DIR.tmp-*``), which then replaces ``DIR`` with one
``os.replace``. An interrupted run leaves at most a ``.DIR.tmp-*`` directory, which no command reads; ``DIR`` is
either the previous complete dataset or the new complete one. An existing ``DIR`` is replaced only with
``overwrite=True`` and only when it looks like a dataset (or is empty), so a mistyped path never deletes a folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from specvae import schema


def check_out_dir(out_dir, overwrite: bool) -> Path:
    """Validate the output directory before any work: refuse to clobber, create the parent."""
    out = Path(out_dir)
    if out.exists():
        if not out.is_dir():
            raise FileExistsError(f"{out} exists and is not a directory; choose another --out")
        if not overwrite:
            raise FileExistsError(f"{out} already exists; pass --overwrite to replace it, or choose another --out")
        if any(out.iterdir()) and not ((out / schema.REPORT_FILE).exists() or (out / schema.DATASET_FILE).exists()):
            raise FileExistsError(f"refusing to replace {out}: it is not empty and holds no {schema.REPORT_FILE} or "
                                  f"{schema.DATASET_FILE}, so it does not look like a specvae dataset")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def write_dataset(out: Path, table, rejects: list[dict], report: dict, overwrite: bool) -> None:
    """Write the three files into a temporary sibling and move it into place."""
    import pyarrow.parquet as pq

    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    old = None
    try:
        pq.write_table(table, tmp / schema.DATASET_FILE, compression="zstd", row_group_size=65536)
        with open(tmp / schema.REJECTS_FILE, "w", encoding="utf-8") as fh:
            for item in rejects:
                fh.write(json.dumps(item, ensure_ascii=False))
                fh.write("\n")
        with open(tmp / schema.REPORT_FILE, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.chmod(tmp, 0o755 & ~_umask())
        if out.exists():
            check_out_dir(out, overwrite)
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(out, old)
        try:
            os.replace(tmp, out)
        except BaseException:
            if old is not None:  # put the previous dataset back
                os.replace(old, out)
                old = None
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and old.exists():
            shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
