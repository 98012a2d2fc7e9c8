"""Rebuild the mask from reference structure files: ``specvae fingerprint-mask`` calls :func:`build_mask`."""

from __future__ import annotations

import importlib.metadata as md
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from specvae.chem.substructure.definitions import DATA, DEFINITION_FILES
from specvae.chem.substructure.mask import (
    DEFAULT_MIN_FREQUENCY,
    DEFAULT_N_BITS,
    MASK_VERSION,
    Mask,
    describe_rule,
    rank_bits,
    write_mask,
)

log = logging.getLogger("specvae.chem")


def reference_structures(paths: Sequence[str | Path], sample: int | None = None, seed: int = 0, workers: int = 1,
                         progress: bool = False) -> tuple[list[str], dict]:
    """Canonical SMILES of the distinct structures (InChIKey first block) in ``paths``, and counts.

    Records are first deduplicated by their text (SMILES or InChI); with ``sample``, that many distinct
    texts are drawn at random (``seed``) before parsing. Parsing (and InChIKey computation) runs in ``workers``
    processes.
    """
    from specvae.chem.structures import Unparsed, parse_records
    from specvae.progress import track
    from specvae.readers.structures import read_structures

    texts: dict[str, object] = {}
    per_file = {}
    for path in paths:
        read = new = 0
        for record in track(read_structures(path), f"reading {Path(path).name}", enabled=progress):
            read += 1
            key = record.smiles or record.inchi
            if key not in texts:
                texts[key] = record
                new += 1
        per_file[Path(path).name] = {"records": read, "new_distinct_texts": new}
        log.info("%s: %d records, %d new distinct structure texts", path, read, new)
    records = list(texts.values())
    if sample is not None and sample < len(records):
        rng = np.random.default_rng(seed)
        records = [records[i] for i in np.sort(rng.choice(len(records), size=sample, replace=False))]
    seen: dict[str, str] = {}
    invalid = 0
    for parsed in parse_records(records, workers=workers, progress=progress):
        if isinstance(parsed, Unparsed):
            invalid += 1
        else:
            seen.setdefault(parsed.inchikey14, parsed.smiles)
    counts = {"per_file": per_file, "distinct_texts": len(texts), "texts_used": len(records), "invalid": invalid,
              "distinct_structures": len(seen)}
    log.info("%d distinct texts, %d used, %d invalid, %d distinct structures", len(texts), len(records), invalid,
             len(seen))
    return list(seen.values()), counts


def build_mask(reference: Sequence[str | Path], out: str | Path, n_bits: int = DEFAULT_N_BITS,
               min_frequency: float = DEFAULT_MIN_FREQUENCY, sample: int | None = None, seed: int = 0,
               workers: int = 1, overwrite: bool = False, progress: bool = False) -> Mask:
    """Apply the mask rule (see :mod:`~specvae.chem.substructure.mask`) to ``reference`` and write ``out``.

    Parameters
    ----------
    reference
        Structure files (SMILES, CSV/TSV, SDF, MSP; see :mod:`specvae.readers.structures`).
    out
        The TSV to write (its ``.json`` companion is written next to it).
    n_bits
        The default width; the file must rank at least this many bits (default 2149).
    min_frequency
        Bits on in fewer than this fraction of structures, or off in fewer, are dropped (default 0.001).
    sample
        Use this many of the distinct structure texts, drawn at random with ``seed`` (default: all).
    workers
        Processes computing the pool bits.
    """
    from specvae.chem.fingerprints import compute_smiles, get_fingerprinter

    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
    smiles, counts = reference_structures(reference, sample=sample, seed=seed, workers=workers, progress=progress)
    log.info("computing the pool on %d distinct structures", len(smiles))
    pool_fp = get_fingerprinter("specvae-pool")
    bits = compute_smiles(smiles, pool_fp, workers=workers, progress=progress, description="pool bits")
    ranked = rank_bits(pool_fp.bits, bits, min_frequency=min_frequency)
    if len(ranked) < n_bits:
        raise ValueError(f"only {len(ranked)} bits pass the rule on this reference set, fewer than n_bits={n_bits}; "
                         "use more reference structures or a smaller --min-frequency")
    versions = {}
    for dist in ("rdkit", "numpy"):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            versions[dist] = None
    meta = {
        "rule": describe_rule(min_frequency),
        "min_frequency": min_frequency,
        "reference": dict(counts, files=[Path(p).name for p in reference], sample=sample, seed=seed,
                          identity="records deduplicated by text, then by InChIKey first block (first kept)"),
        "pool": {"families": {f: int(sum(b.family == f for b in pool_fp.bits)) for f in
                              dict.fromkeys(b.family for b in pool_fp.bits)},
                 "n_bits": len(pool_fp.bits), "pool_version": pool_fp.spec.version},
        "ranked_by_family_in_default": _family_counts(ranked, n_bits),
        "packages": versions,
        "definitions": {name: _sha256(DATA / name) for name in DEFINITION_FILES},
    }
    mask = Mask(version=MASK_VERSION, ranked=ranked, meta=meta)
    write_mask(mask, out, overwrite=overwrite)
    return mask


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _family_counts(ranked, n_bits: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in ranked:
        if r.rank <= n_bits:
            counts[r.bit.family] = counts.get(r.bit.family, 0) + 1
    return counts
