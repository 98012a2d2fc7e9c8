"""Fingerprints of ingested structures: each distinct InChIKey fingerprinted once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def fingerprint(structures: Sequence, fingerprinter, cache=None, workers: int = 1,
                progress: bool = False) -> dict[str, bytes]:
    """Packed fingerprint bytes per InChIKey, computed once per distinct InChIKey.

    Where one InChIKey comes with several drawings (standard InChI merges mobile-hydrogen tautomers, whose
    substructure bits differ), the first one is fingerprinted: the caller lists the spectra's own structures first.
    """
    from specvae.chem.fingerprints import compute_fingerprints, pack_bits

    first: dict[str, object] = {}
    for s in structures:
        first.setdefault(s.inchikey, s)
    unique = list(first.values())
    if not unique:
        return {}
    bits = compute_fingerprints(unique, fingerprinter, cache=cache, workers=workers, progress=progress)
    packed = pack_bits(np.asarray(bits))
    return {s.inchikey: packed[i].tobytes() for i, s in enumerate(unique)}
