"""Fingerprints of SMILES strings in worker processes (chunks of SMILES in, packed bits out).

Workers receive canonical SMILES, not molecules (molecules do not pickle cheaply), and return packed bits. Where the
operating system can fork, workers inherit the already compiled fingerprinter of the parent, so they start at once.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

CHUNK = 256  # SMILES per task: small enough to balance two workers, large enough for batched screening

_WORKER: dict = {}


def _init(name: str, n_bits: int | None) -> None:
    from specvae.chem.fingerprints import get_fingerprinter

    if _WORKER.get("key") != (name, n_bits):
        _WORKER["fingerprinter"] = get_fingerprinter(name, n_bits)
        _WORKER["key"] = (name, n_bits)


def _mols(smiles: Sequence[str]):
    from rdkit import Chem

    from specvae.chem.structures import _quiet_rdkit

    _quiet_rdkit()
    mols = []
    for text in smiles:
        mol = Chem.MolFromSmiles(text)
        if mol is None:
            raise ValueError(f"RDKit cannot parse SMILES {text!r} (was it canonicalised by parse_structure?)")
        mols.append(mol)
    return mols


def _task(smiles: list[str]) -> np.ndarray:
    bits = _WORKER["fingerprinter"].compute(_mols(smiles))
    return np.packbits(bits, axis=1)


def compute_smiles(smiles: Sequence[str], fingerprinter, workers: int = 1, progress: bool = False,
                   description: str = "fingerprints") -> np.ndarray:
    """Bits (``uint8`` 0/1, ``(len(smiles), n_bits)``) of SMILES strings, in ``workers`` processes when > 1."""
    from specvae.progress import counter

    n_bits = fingerprinter.spec.n_bits
    out = np.zeros((len(smiles), n_bits), dtype=np.uint8)
    chunks = [list(smiles[i:i + CHUNK]) for i in range(0, len(smiles), CHUNK)]
    with counter(description, total=len(smiles), enabled=progress) as advance:
        if workers <= 1 or len(chunks) <= 1:
            for k, chunk in enumerate(chunks):
                out[k * CHUNK:k * CHUNK + len(chunk)] = fingerprinter.compute(_mols(chunk))
                advance(len(chunk))
            return out
        name, width = fingerprinter.spec.name, fingerprinter.spec.n_bits
        methods = multiprocessing.get_all_start_methods()
        if "fork" in methods:
            context = multiprocessing.get_context("fork")
            _WORKER["fingerprinter"], _WORKER["key"] = fingerprinter, (name, width)
            if hasattr(fingerprinter, "evaluator"):
                fingerprinter.evaluator  # noqa: B018  (compile once, before forking)
            initializer, initargs = None, ()
        else:
            context = multiprocessing.get_context("spawn")
            initializer, initargs = _init, (name, width)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=initializer,
                                 initargs=initargs) as pool:
            for k, packed in enumerate(pool.map(_task, chunks)):
                start = k * CHUNK
                rows = len(chunks[k])
                out[start:start + rows] = np.unpackbits(packed, axis=1, count=n_bits)
                advance(rows)
    return out
