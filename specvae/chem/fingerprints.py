"""Named, versioned molecular fingerprints: the second modality of the model and the key of candidate ranking.

A fingerprint is identified by :class:`~specvae.chem.bits.FingerprintSpec` (name, version, width). Training, ranking
and evaluation must use the identical spec: datasets record it in their Parquet metadata and trained models in their
config, and every consumer checks it.

The registry :data:`FINGERPRINTS` names every fingerprint (:func:`available`, :func:`get_fingerprinter`):

- ``specvae`` (default): the 2149-bit masked substructure fingerprint (CSI:FingerID's families, our own mask;
  ``n_bits`` 1 to 2480 selects the best-ranked bits; see docs/fingerprint.md and :mod:`specvae.chem.substructure`).
- ``specvae-pool``: every bit of those families, unmasked (6214 bits).
- ``morgan2``: RDKit Morgan (ECFP4-like) bits, radius 2, 2048 bits by default.
- ``maccs``: the 166 MACCS keys (RDKit's bit 0 is unused and dropped).

To add a fingerprint, implement :class:`~specvae.chem.bits.Fingerprinter` and add its factory to
:data:`FINGERPRINTS`. :func:`packed_fingerprints` computes any of them for parsed structures, once per InChIKey,
through the cache and in worker processes (:func:`compute_smiles`).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from specvae.chem.bits import Fingerprinter, FingerprintSpec, pack_bits, unpack_bits
from specvae.chem.substructure.fingerprinter import pool_fingerprinter, specvae_fingerprinter
from specvae.errors import InputError

DEFAULT_FINGERPRINT = "specvae"


class MorganFingerprinter(Fingerprinter):
    """RDKit Morgan bits (radius 2 by default), folded to ``n_bits``."""

    def __init__(self, n_bits: int = 2048, radius: int = 2):
        from rdkit.Chem import rdFingerprintGenerator

        self.spec = FingerprintSpec(name=f"morgan{radius}", version="1", n_bits=n_bits)
        self._generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)

    def compute(self, mols: Sequence) -> np.ndarray:
        out = np.zeros((len(mols), self.spec.n_bits), dtype=np.uint8)
        for i, mol in enumerate(mols):
            out[i] = self._generator.GetFingerprintAsNumPy(mol)
        return out


class MACCSFingerprinter(Fingerprinter):
    """The 166 MACCS keys as implemented by RDKit (its unused bit 0 dropped)."""

    def __init__(self, n_bits: int | None = None):
        if n_bits not in (None, 166):
            raise ValueError(f"the MACCS fingerprint has 166 bits, not {n_bits}")
        self.spec = FingerprintSpec(name="maccs", version="1", n_bits=166)

    def compute(self, mols: Sequence) -> np.ndarray:
        from rdkit import DataStructs
        from rdkit.Chem import MACCSkeys

        out = np.zeros((len(mols), 167), dtype=np.uint8)
        for i, mol in enumerate(mols):
            DataStructs.ConvertToNumpyArray(MACCSkeys.GenMACCSKeys(mol), out[i])
        return out[:, 1:]


FINGERPRINTS: dict[str, Callable[..., Fingerprinter]] = {
    "specvae": specvae_fingerprinter,
    "specvae-pool": pool_fingerprinter,
    "morgan2": lambda n_bits=None: MorganFingerprinter(n_bits=n_bits or 2048, radius=2),
    "maccs": lambda n_bits=None: MACCSFingerprinter(n_bits=n_bits),
}


def available() -> list[str]:
    """Names accepted by :func:`get_fingerprinter`."""
    return sorted(FINGERPRINTS)


def get_fingerprinter(name: str = DEFAULT_FINGERPRINT, n_bits: int | None = None) -> Fingerprinter:
    """The fingerprinter called ``name`` (``n_bits`` overrides the default width where the fingerprint allows it)."""
    try:
        factory = FINGERPRINTS[name]
    except KeyError:
        raise InputError(f"unknown fingerprint {name!r}; choose one of {', '.join(available())}") from None
    return factory(n_bits=n_bits)


def packed_fingerprints(structures: Sequence, fingerprinter: Fingerprinter | str = DEFAULT_FINGERPRINT, cache=None,
                        workers: int = 1, progress: bool = False, chunk_size: int = 5000) -> np.ndarray:
    """Packed fingerprints of parsed structures, one row per structure: ``(n, ceil(n_bits / 8))`` ``uint8``.

    The one path from structures to stored bits (ingest, ``specvae fingerprint``, candidates, databases): each
    distinct InChIKey is computed once, from its *first* structure in ``structures`` (standard InChI merges
    mobile-hydrogen tautomers, whose substructure bits differ: a caller lists the drawing it wants first). Cache hits
    are taken as the packed bytes the cache stores; misses are computed ``chunk_size`` at a time (default 5000) and
    each chunk is written to the cache when it is done, so that a long computation shows progress and an interrupted
    one keeps its work.

    Parameters
    ----------
    structures
        :class:`specvae.chem.structures.Structure` objects (canonical SMILES + InChIKey).
    fingerprinter
        A :class:`~specvae.chem.bits.Fingerprinter` or a fingerprint name; default ``"specvae"``.
    cache
        A :class:`specvae.chem.cache.FingerprintCache` (or the path of its file); ``None`` computes everything.
    workers
        Processes to compute cache misses with (1 = in this process). Workers receive SMILES, not molecules.
    progress
        Draw a progress bar.
    """
    from specvae.progress import counter

    if isinstance(fingerprinter, str):
        fingerprinter = get_fingerprinter(fingerprinter)
    spec = fingerprinter.spec
    width = (spec.n_bits + 7) // 8
    if cache is not None and not hasattr(cache, "get_many"):
        from specvae.chem.cache import FingerprintCache

        cache = FingerprintCache(cache)
    first: dict[str, object] = {}
    for s in structures:
        first.setdefault(s.inchikey, s)
    packed = cache.get_many(spec, list(first)) if cache is not None and first else {}
    missing = [s for key, s in first.items() if key not in packed]
    with counter(f"fingerprints ({spec.name})", total=len(missing), enabled=progress and bool(missing)) as advance:
        for start in range(0, len(missing), chunk_size):
            part = missing[start:start + chunk_size]
            rows = pack_bits(compute_smiles([s.smiles for s in part], fingerprinter, workers=workers))
            new = {s.inchikey: rows[i].tobytes() for i, s in enumerate(part)}
            if cache is not None:
                cache.put_many(spec, new.items())
            packed.update(new)
            advance(len(part))
    joined = b"".join(packed[s.inchikey] for s in structures)
    return np.frombuffer(joined, dtype=np.uint8).reshape(len(structures), width)


def compute_fingerprints(structures: Sequence, fingerprinter: Fingerprinter | str = DEFAULT_FINGERPRINT, cache=None,
                         workers: int = 1, progress: bool = False) -> np.ndarray:
    """:func:`packed_fingerprints`, unpacked: ``uint8`` 0/1 of shape ``(n, n_bits)``, one row per structure."""
    if isinstance(fingerprinter, str):
        fingerprinter = get_fingerprinter(fingerprinter)
    packed = packed_fingerprints(structures, fingerprinter, cache=cache, workers=workers, progress=progress)
    return unpack_bits(packed, fingerprinter.spec.n_bits)


# --- worker processes: canonical SMILES in (molecules do not pickle cheaply), packed bits out --------------------

CHUNK = 256  # SMILES per task: small enough to balance two workers, large enough for batched screening

_WORKER: dict = {}


def _init(name: str, n_bits: int | None) -> None:
    if _WORKER.get("key") != (name, n_bits):
        _WORKER["fingerprinter"] = get_fingerprinter(name, n_bits)
        _WORKER["key"] = (name, n_bits)


def _mols(smiles: Sequence[str]):
    from rdkit import Chem

    from specvae.chem.structures import quiet_rdkit

    quiet_rdkit()
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


FAMILY_TITLES = {"laggner": "Laggner", "pubchem": "PubChem", "klekota_roth": "Klekota-Roth", "maccs": "MACCS"}


def bit_names(spec) -> list[str]:
    """A readable name for every bit of the fingerprint ``spec`` (a :class:`FingerprintSpec`): the family, its bit
    number and the substructure, e.g. ``"PubChem 341: C(=O)N"``, ``"Laggner 0: Primary_carbon"``, ``"MACCS key 8:
    [!#6;!#1]1~*~*~*~1"``; ``"Morgan bit 17"`` for a hashed fingerprint."""
    if spec.name in ("specvae", "specvae-pool"):
        bits = get_fingerprinter(spec.name, n_bits=spec.n_bits).bits
        names = []
        for b in bits:
            what = b.definition if b.family == "maccs" or not b.name else b.name  # MACCS names are "key N"
            label = f"MACCS key {b.family_bit + 1}" if b.family == "maccs" else \
                f"{FAMILY_TITLES.get(b.family, b.family)} {b.family_bit}"
            names.append(f"{label}: {what}")
        return names
    if spec.name == "maccs":
        return [f"MACCS key {i + 1}" for i in range(spec.n_bits)]
    return [f"{spec.name} bit {i}" for i in range(spec.n_bits)]
