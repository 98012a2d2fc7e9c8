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
        raise typer.BadParameter(f"{text!r}: give three numbers such as 0.8,0.1,0.1") from None
    if len(parts) != 3:
        raise typer.BadParameter(f"{text!r}: give three numbers (train,validation,test) such as 0.8,0.1,0.1")
    return parts


@command()
def ingest(
    inputs: list[Path] = typer.Argument(..., help="Spectrum files: .msp .mgf .mzML .json, optionally .gz."),
    out: Path = typer.Option(..., "--out", "-o", help="Dataset directory to create."),
    molecules: list[Path] = typer.Option([], "--molecules", help="Structures (SMILES, CSV/TSV, SDF) to add as "
                                         "structure-only rows; repeatable."),
    exclude_inchikeys: Path = typer.Option(None, "--exclude-inchikeys", help="InChIKeys (or CSV) to leave out."),
    fingerprint: str = typer.Option("specvae", "--fingerprint", help="Fingerprint: specvae, morgan2, maccs."),
    fractions: str = typer.Option("0.8,0.1,0.1", "--fractions", help="Train,validation,test share of structures."),
    seed: int = typer.Option(0, "--seed", help="Seed of the structure-to-split hash."),
    ion_mode: str = typer.Option("positive", "--ion-mode", help="Keep this ion mode: positive, negative, any."),
    keep_unknown_ion_mode: bool = typer.Option(False, "--keep-unknown-ion-mode", help="Keep spectra of unknown mode."),
    ms_level: int = typer.Option(2, "--ms-level", help="Keep this MS level (0: any); unstated levels are kept."),
    instrument_type: str = typer.Option("LC", "--instrument-type", help="Inlets to keep: LC,GC,DI,EI,MALDI or any."),
    drop_unknown_instrument: bool = typer.Option(False, "--drop-unknown-instrument", help="Reject unknown inlets."),
    require_precursor: bool = typer.Option(True, "--require-precursor/--no-require-precursor",
                                           help="Reject spectra without precursor m/z."),
    min_peaks: int = typer.Option(1, "--min-peaks", help="Minimum peaks on the grid (0: off)."),
    mz_min: float = typer.Option(None, "--mz-min", help="Drop peaks below this m/z (default: off)."),
    mz_max: float = typer.Option(None, "--mz-max", help="Drop peaks above this m/z (default: off)."),
    cache: Path = opt.CACHE,
    no_cache: bool = opt.NO_CACHE,
    workers: int = typer.Option(1, "--workers", "-j", help="Processes to use."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace DIR if it holds a dataset."),
):
    """Read spectra (MSP, MGF, mzML, MoNA/GNPS JSON), clean, bin to 11000 bins, fingerprint, split; write DIR."""
    from specvae.ingest import Cleaning
    from specvae.ingest import ingest as run_ingest

    mode = None if ion_mode.lower() in ("any", "both", "none") else ion_mode.lower()
    inlets = None if instrument_type.lower() in ("any", "none", "") else tuple(
        t.strip().upper() for t in instrument_type.split(",") if t.strip())
    cleaning = Cleaning(ion_mode=mode, keep_unknown_ion_mode=keep_unknown_ion_mode, ms_level=ms_level or None,
                        instrument_types=inlets, keep_unknown_instrument=not drop_unknown_instrument,
                        require_precursor=require_precursor, min_peaks=min_peaks or None, mz_min=mz_min,
                        mz_max=mz_max)
    report = run_ingest(inputs, out, molecules=molecules, exclude_inchikeys=exclude_inchikeys,
                        fingerprint=fingerprint, fractions=_fractions(fractions), seed=seed, cleaning=cleaning,
                        workers=workers, overwrite=overwrite, progress=show_progress(),
                        cache=opt.cache_from(cache, no_cache))
    _summary(report, out)


def _summary(report: dict, out: Path) -> None:
    s, m = report["spectra"], report["molecules"]
    typer.echo(f"spectra read {s['read']:,}: written {s['written']:,} (paired {s['paired']:,}, "
               f"spectrum-only {s['spectrum_only']:,}), rejected {s['rejected']:,}")
    for reason, n in list(s["rejected_by_reason"].items())[:8]:
        typer.echo(f"  rejected {reason}: {n:,}")
    if m["paths"]:
        typer.echo(f"molecules read {m['read']:,}: written {m['written']:,}, rejected {m['rejected']:,}")
    dropped = report["peaks"]["dropped"]
    typer.echo(f"peaks dropped: off grid {dropped['off_grid_low'] + dropped['off_grid_high']:,}, "
               f"zero intensity {dropped['zero_intensity']:,}, select_by_mz {dropped['select_by_mz']:,}")
    typer.echo(f"wrote {out} in {report['timings'].get('total_s', 0):.1f} s (details: {out}/report.json)")
