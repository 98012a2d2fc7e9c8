"""The ingest report (``report.json``) and the Parquet key-value metadata of the dataset.

The report states what was read, written and rejected (by reason), what each cleaning step removed, how many peaks
were dropped and why, the structures and splits, and the exact settings. ``spectra.read == spectra.written +
spectra.rejected`` and the same for molecules always hold (:func:`check_invariants`).
"""

from __future__ import annotations

import json
from collections import Counter

from specvae import schema
from specvae.ingest.clean import Cleaning
from specvae.ingest.clean import steps as cleaning_steps

BINNING = {
    "n_bins": schema.N_BINS,
    "bin_width": schema.BIN_WIDTH,
    "mz_max": schema.MZ_MAX,
    "bin_rule": "bin i (0-based) holds m/z in (0.1*i, 0.1*(i+1)]; m/z <= 0 or > 1100 dropped",
    "transform": "peaks in a bin summed; scaled so the largest bin is 100; log(1 + I)",
}


def build_report(*, files, rows, table, rejects, steps, peaks, molecules, structures, splits, cleaning: Cleaning,
                 fingerprinter, fractions, seed, excluded, molecules_path, timings) -> dict:
    """Assemble ``report.json`` from the counts of every stage; checks the read = written + rejected invariant."""
    from specvae import __version__

    kinds = Counter(table.column(schema.KIND).to_pylist())
    # assemble() appends the molecule rejections after all spectrum rejections
    spectrum_rejects = rejects[: len(rejects) - molecules["rejected"]]
    by_reason = Counter(r["reason"] for r in spectrum_rejects)
    read = sum(f["records"] for f in files)
    pipeline = []
    for step in cleaning_steps(cleaning):
        counts = steps.get(step.name, Counter())
        pipeline.append({"step": step.name, "params": _jsonable(step.params), "removed": counts.get("removed", 0),
                         "kept_unknown": counts.get("kept_unknown", 0),
                         "peaks_removed": counts.get("peaks_removed", 0)})
    select = next((p["peaks_removed"] for p in pipeline if p["step"] == "select_by_mz"), 0)
    written = kinds.get(schema.PAIRED, 0) + kinds.get(schema.SPECTRUM_ONLY, 0)
    n_peaks = table.column(schema.N_PEAKS).to_numpy(zero_copy_only=False)
    report = {
        "specvae_version": __version__,
        "schema_version": schema.SCHEMA_VERSION,
        "inputs": files,
        "spectra": {
            "read": read,
            "written": written,
            "paired": kinds.get(schema.PAIRED, 0),
            "spectrum_only": kinds.get(schema.SPECTRUM_ONLY, 0),
            "rejected": len(spectrum_rejects),
            "rejected_by_reason": dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))),
        },
        "molecules": molecules,
        "cleaning": pipeline,
        "peaks": {
            "read": int(peaks.get("read", 0)) + int(select),
            "dropped": {
                "select_by_mz": int(select),
                "off_grid_low": int(peaks.get("off_grid_low", 0)),
                "off_grid_high": int(peaks.get("off_grid_high", 0)),
                "zero_intensity": int(peaks.get("zero_intensity", 0)),
            },
            "bins_written": int(n_peaks[: written].sum()) if written else 0,
            "note": "peaks of spectra that passed the metadata steps; off-grid = m/z <= 0 (low) or > 1100 (high)",
        },
        "structures": structures,
        "splits": splits,
        "settings": {
            "cleaning": cleaning.to_dict(),
            "fingerprint": json.loads(fingerprinter.spec.to_json()),
            "split": {"seed": seed, "fractions": list(fractions), "by": "inchikey14 (rows without structure: id)"},
            "binning": BINNING,
            "exclude_inchikeys": {"path": str(excluded[0]) if excluded[0] is not None else None,
                                  "inchikey14": excluded[1]},
            "molecules": [str(p) for p in molecules_path],
        },
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    check_invariants(report)
    return report


def dataset_metadata(fingerprinter, seed: int, fractions) -> dict:
    """Parquet key-value metadata: schema version, fingerprint spec, binning, split settings, package version."""
    from specvae import __version__

    return {
        schema.META_SCHEMA: schema.SCHEMA_VERSION.encode(),
        schema.META_FINGERPRINT: fingerprinter.spec.to_json().encode(),
        schema.META_BINNING: json.dumps(BINNING, sort_keys=True).encode(),
        schema.META_SPLIT: json.dumps({"seed": seed, "fractions": list(fractions)}, sort_keys=True).encode(),
        schema.META_VERSION: __version__.encode(),
    }


def check_invariants(report: dict) -> None:
    """Raise ``RuntimeError`` (a bug, not a user error) when read != written + rejected."""
    s = report["spectra"]
    if s["read"] != s["written"] + s["rejected"] or s["written"] != s["paired"] + s["spectrum_only"]:
        raise RuntimeError(f"ingest lost track of records: {s}")
    m = report["molecules"]
    if m["read"] != m["written"] + m["rejected"]:
        raise RuntimeError(f"ingest lost track of molecules: {m}")


def _jsonable(params: dict) -> dict:
    out = {}
    for k, v in params.items():
        if isinstance(v, tuple):
            v = list(v)
        elif isinstance(v, float) and v in (float("inf"), float("-inf")):
            v = None
        out[k] = v
    return out
