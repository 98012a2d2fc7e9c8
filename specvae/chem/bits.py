"""What a fingerprint is and how its bits are kept: :class:`FingerprintSpec`, the :class:`Fingerprinter` interface,
packing 0/1 bits into bytes, and the cross-entropy of predicted bit probabilities against bits
(:func:`bit_cross_entropy`: the training metric, the ranking score and the baseline all use it).

Every fingerprint family (:mod:`specvae.chem.fingerprints` lists them) implements :class:`Fingerprinter`; this module
imports nothing else of specvae, so that every family can build on it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class FingerprintSpec:
    """What a fingerprint is: ``name``, ``version`` (changes whenever any bit's meaning changes) and ``n_bits``."""

    name: str
    version: str
    n_bits: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> FingerprintSpec:
        data = json.loads(text)
        return cls(name=str(data["name"]), version=str(data["version"]), n_bits=int(data["n_bits"]))

    @classmethod
    def from_table(cls, table, path, written_by: str) -> FingerprintSpec:
        """The spec in a Parquet table's key-value metadata; :class:`InputError` naming the command that writes such
        files (``written_by``) when it is missing."""
        from specvae import schema
        from specvae.errors import InputError

        meta = table.schema.metadata or {}
        if schema.META_FINGERPRINT not in meta:
            raise InputError(f"{path} has no fingerprint metadata; was it written by `{written_by}`?")
        return cls.from_json(meta[schema.META_FINGERPRINT])

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.n_bits} bits)"


class Fingerprinter:
    """Computes one fingerprint for RDKit molecules. Subclasses implement :meth:`compute`."""

    spec: FingerprintSpec

    def compute(self, mols: Sequence) -> np.ndarray:
        """Bits of each molecule: ``uint8`` array of shape ``(len(mols), n_bits)`` holding 0/1."""
        raise NotImplementedError


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a ``(n, n_bits)`` 0/1 array into ``(n, ceil(n_bits / 8))`` bytes (big bit order)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8), axis=-1)


def unpack_bits(packed: np.ndarray, n_bits: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: ``(n, ceil(n_bits / 8))`` bytes -> ``(n, n_bits)`` uint8 0/1."""
    return np.unpackbits(np.asarray(packed, dtype=np.uint8), axis=-1, count=n_bits)


# Probabilities are clipped to [eps, 1 - eps] before the logarithm, so one confidently wrong bit costs at most
# -log(eps) nats. Two values, each kept as its numbers were first reported (README, docs/ranking.md, docs/training.md):
RANKING_EPS = 1e-6  # candidate scores and the bit-frequency baseline's probabilities: at most 13.8 nats per bit
VALIDATION_EPS = 1e-7  # the training metric val_fp_ce: at most 16.1 nats per bit


def clipped_log_probs(probs, eps: float):
    """``(log p, log(1 - p))`` of probabilities clipped to ``[eps, 1 - eps]``.

    NumPy input is computed in float64 (``log1p`` for the second term); a torch tensor keeps its dtype and device.
    """
    if isinstance(probs, np.ndarray):
        p = np.clip(probs.astype(np.float64, copy=False), eps, 1.0 - eps)
        return np.log(p), np.log1p(-p)
    p = probs.clamp(eps, 1 - eps)
    return p.log(), (1 - p).log()


def bit_cross_entropy(probs, bits, eps: float):
    """Cross-entropy (nats) of 0/1 ``bits`` under predicted ``probs``, summed over the last axis (the bits)::

        -sum_k [ c_k log p_k + (1 - c_k) log(1 - p_k) ]       with p clipped to [eps, 1 - eps]

    NumPy arrays or torch tensors of matching shapes, e.g. ``(n, n_bits)`` -> ``(n,)``.
    """
    log_p, log_q = clipped_log_probs(probs, eps)
    return -(bits * log_p + (1 - bits) * log_q).sum(-1)
