"""The ``specvae`` substructure fingerprint: CSI:FingerID's substructure families, masked to informative bits.

Use it through the registry (:mod:`specvae.chem.fingerprints`)::

    from specvae.chem.fingerprints import get_fingerprinter
    fp = get_fingerprinter("specvae")            # 2149 bits; get_fingerprinter("specvae", n_bits=1024) for fewer
    fp.spec                                      # FingerprintSpec(name="specvae", version="1", n_bits=2149)
    fp.bits                                      # the BitDef of every column (family, family bit, SMARTS or rule)
    fp.compute(mols)                             # uint8 (len(mols), 2149)

``get_fingerprinter("specvae-pool")`` gives every bit of the four families (6214 bits, unmasked). Definitions are in
:mod:`~specvae.chem.substructure.definitions`, the mask and its rule in :mod:`~specvae.chem.substructure.mask`, the
fast evaluator in :mod:`~specvae.chem.substructure.evaluator`; ``docs/fingerprint.md`` explains all of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from specvae.chem.bits import Fingerprinter, FingerprintSpec
from specvae.chem.substructure.definitions import BitDef, bit_pool
from specvae.chem.substructure.mask import DEFAULT_N_BITS, Mask, read_mask

POOL_VERSION = "1"  # of the unmasked pool: changes when a family's definitions change


class SubstructureFingerprinter(Fingerprinter):
    """Computes a fixed list of substructure bits (a mask's bits or the whole pool)."""

    def __init__(self, bits: Sequence[BitDef], spec: FingerprintSpec):
        self.bits = list(bits)
        self.spec = spec
        self._evaluator = None

    @property
    def evaluator(self):
        if self._evaluator is None:  # compiled on first use (about a second for 2149 bits)
            from specvae.chem.substructure.evaluator import SubstructureEvaluator

            self._evaluator = SubstructureEvaluator(self.bits)
        return self._evaluator

    def compute(self, mols: Sequence) -> np.ndarray:
        return self.evaluator.compute(mols)

    def families(self) -> np.ndarray:
        """The family of every column (``str`` array of length ``n_bits``)."""
        return np.array([b.family for b in self.bits])


@lru_cache(maxsize=4)
def _mask(path: str | None = None) -> Mask:
    return read_mask(path)


@lru_cache(maxsize=8)
def specvae_fingerprinter(n_bits: int | None = None) -> SubstructureFingerprinter:
    """The ``specvae`` fingerprint: the ``n_bits`` (default 2149) best-ranked bits of the shipped mask."""
    mask = _mask()
    bits = mask.select(n_bits or DEFAULT_N_BITS)
    return SubstructureFingerprinter(bits, FingerprintSpec(name="specvae", version=mask.version, n_bits=len(bits)))


@lru_cache(maxsize=1)
def pool_fingerprinter(n_bits: int | None = None) -> SubstructureFingerprinter:
    """Every bit of the four families (6214), unmasked: the input of the mask rule."""
    pool = bit_pool()
    if n_bits not in (None, len(pool)):
        raise ValueError(f"the specvae-pool fingerprint has {len(pool)} bits, not {n_bits}")
    return SubstructureFingerprinter(pool, FingerprintSpec(name="specvae-pool", version=POOL_VERSION,
                                                           n_bits=len(pool)))
