"""``specvae ingest INPUT... --out DIR``: spectrum files -> a Parquet dataset (see :func:`specvae.ingest.ingest`)."""

from __future__ import annotations

from pathlib import Path

import typer

from specvae.cli import _options as opt
from specvae.cli._app import command, show_progress


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(x) for x in text.replace(":", ",").split(","))
    except ValueError:
        raise ValueError(f"--fractions {text!r}: give three numbers such as 0.8,0.1,0.1") from None
    if len(parts) != 3:
        raise ValueError(f"--fractions {text!r}: give three numbers (train,validation,test) such as 0.8,0.1,0.1")
    return parts


@command()
def ingest(
    inputs: list[Path] = typer.Argument(None, help="Spectrum files: .msp .mgf .mzML .json, optionally .gz."),
    out: Path = typer.Option(None, "--out", "-o", help="Dataset directory to create."),
    molecules: list[Path] = typer.Option(None, "--molecules", help="Structures (SMILES, CSV/TSV, SDF) to add as "
                                         "structure-only rows; repeatable."),
    exclude_inchikeys: Path = typer.Option(None, "--exclude-inchikeys", help="InChIKeys (or CSV) to leave out."),
    fingerprint: str = typer.Option(None, "--fingerprint", help="Fingerprint: specvae (default), morgan2, maccs."),
    fractions: str = typer.Option(None, "--fractions", help="Train,validation,test share of structures "
                                                            "(default 0.8,0.1,0.1)."),
    seed: int = typer.Option(None, "--seed", help="Seed of the structure-to-split hash."),
    ion_mode: str = typer.Option(None, "--ion-mode", help="Keep this ion mode: positive (default), negative, any."),
    keep_unknown_ion_mode: bool = typer.Option(None, "--keep-unknown-ion-mode", help="Keep spectra of unknown mode."),
    ms_level: int = typer.Option(None, "--ms-level", help="Keep this MS level (default 2; 0: any); unstated levels "
                                                          "are kept."),
    instrument_type: str = typer.Option(None, "--instrument-type", help="Inlets to keep: LC (default), GC, DI, EI, "
                                                                        "MALDI, comma-separated, or any."),
    drop_unknown_instrument: bool = typer.Option(None, "--drop-unknown-instrument", help="Reject unknown inlets."),
    require_precursor: bool = typer.Option(None, "--require-precursor/--no-require-precursor",
                                           help="Reject spectra without precursor m/z (default: yes)."),
    min_peaks: int = typer.Option(None, "--min-peaks", help="Minimum peaks on the grid (default 1; 0: off)."),
    mz_min: float = typer.Option(None, "--mz-min", help="Drop peaks below this m/z (default: off)."),
    mz_max: float = typer.Option(None, "--mz-max", help="Drop peaks above this m/z (default: off)."),
    exclude_license: list[str] = typer.Option(None, "--exclude-license", help="Reject records whose licence has "
                                              "these words, e.g. NC (non-commercial), ND; repeatable."),
    cache: Path = opt.CACHE,
    no_cache: bool = opt.NO_CACHE,
    workers: int = typer.Option(None, "--workers", "-j", help="Processes to use (default: --threads)."),
    threads: int = opt.THREADS,
    config: Path = opt.CONFIG,
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace DIR if it holds a dataset."),
):
    """Read spectra (MSP, MGF, mzML, MoNA/GNPS JSON), clean, bin to 11000 bins, fingerprint, split; write DIR."""
    from specvae.ingest import ingest as run_ingest
    from specvae.settings import NONE

    def off(value, switched_off):  # a given option that switches a cleaning step off sets its setting to None
        return None if value is None else NONE if switched_off else value

    n_threads = opt.use_threads(threads, torch_too=False)
    inlets = None if instrument_type is None else tuple(t.strip().upper() for t in instrument_type.split(",")
                                                        if t.strip())
    s = opt.settings(config, [(run_ingest, ())], {
        "inputs": inputs or None, "out_dir": out, "molecules": molecules or None, "fingerprint": fingerprint,
        "exclude_inchikeys": exclude_inchikeys, "fractions": _fractions(fractions) if fractions else None,
        "seed": seed, "workers": opt.workers_or_threads(workers, n_threads, config), "cleaning": {
            "ion_mode": off(ion_mode and ion_mode.lower(), str(ion_mode).lower() in ("any", "both", "none")),
            "keep_unknown_ion_mode": keep_unknown_ion_mode, "ms_level": off(ms_level, ms_level == 0),
            "instrument_types": off(inlets, str(instrument_type).lower() in ("any", "none", "")),
            "keep_unknown_instrument": None if drop_unknown_instrument is None else not drop_unknown_instrument,
            "require_precursor": require_precursor, "min_peaks": off(min_peaks, min_peaks == 0), "mz_min": mz_min,
            "mz_max": mz_max, "exclude_licenses": tuple(exclude_license) if exclude_license else None}},
        required=opt.REQUIRED)
    report = run_ingest(**s, overwrite=overwrite, progress=show_progress(), cache=opt.cache_from(cache, no_cache),
                        record_settings=s)
    _summary(report, s["out_dir"])


def _summary(report: dict, out: Path) -> None:
    s, m = report["spectra"], report["molecules"]
    typer.echo(f"spectra read {s['read']:,}: written {s['written']:,} (paired {s['paired']:,}, "
               f"spectrum-only {s['spectrum_only']:,}), rejected {s['rejected']:,}")
    for reason, n in list(s["rejected_by_reason"].items())[:8]:
        typer.echo(f"  rejected {reason}: {n:,}")
    changed = report["structures"].get("standardised_by_change")
    if changed:
        typer.echo(f"structures standardised: {report['structures']['standardised']:,} ("
                   + ", ".join(f"{change} {n:,}" for change, n in changed.items()) + f"; see {out}/standardised.jsonl)")
    if m["paths"]:
        typer.echo(f"molecules read {m['read']:,}: written {m['written']:,}, rejected {m['rejected']:,}")
    dropped = report["peaks"]["dropped"]
    typer.echo(f"peaks dropped: off grid {dropped['off_grid_low'] + dropped['off_grid_high']:,}, "
               f"zero intensity {dropped['zero_intensity']:,}, select_by_mz {dropped['select_by_mz']:,}")
    typer.echo(f"wrote {out} in {report['timings'].get('total_s', 0):.1f} s (details: {out}/report.json)")
