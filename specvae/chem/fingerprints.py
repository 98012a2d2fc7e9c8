"""Named, versioned molecular fingerprints: the second modality of the model and the key of candidate ranking.

A fingerprint is identified by :class:`FingerprintSpec` (name, version, width). Training, ranking and evaluation must
use the identical spec: datasets record it in their Parquet metadata and trained models in their config, and every
consumer checks it.

Available names (see :func:`available`):

- ``specvae`` (default): the 2149-bit masked substructure fingerprint (CSI:FingerID's families, our own mask;
  ``n_bits`` 1 to 2480 selects the best-ranked bits; see docs/fingerprint.md).
- ``specvae-pool``: every bit of those families, unmasked (6214 bits).
- ``morgan2``: RDKit Morgan (ECFP4-like) bits, radius 2, 2048 bits by default.
- ``maccs``: the 166 MACCS keys (RDKit's bit 0 is unused and dropped).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_FINGERPRINT = "specvae"


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


_REGISTRY: dict[str, Callable[..., Fingerprinter]] = {
    "morgan2": lambda n_bits=None: MorganFingerprinter(n_bits=n_bits or 2048, radius=2),
    "maccs": lambda n_bits=None: MACCSFingerprinter(n_bits=n_bits),
}


def register(name: str, factory: Callable[..., Fingerprinter]) -> None:
    """Make ``factory(n_bits=None)`` available as fingerprint ``name``."""
    _REGISTRY[name] = factory


def available() -> list[str]:
    """Names accepted by :func:`get_fingerprinter`."""
    _load_builtin()
    return sorted(_REGISTRY)


def get_fingerprinter(name: str = DEFAULT_FINGERPRINT, n_bits: int | None = None) -> Fingerprinter:
    """The fingerprinter called ``name`` (``n_bits`` overrides the default width where the fingerprint allows it)."""
    _load_builtin()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown fingerprint {name!r}; choose one of {', '.join(sorted(_REGISTRY))}") from None
    return factory(n_bits=n_bits)


def _load_builtin() -> None:
    """Register fingerprints defined in other modules (imported lazily: they load data files)."""
    if "specvae" not in _REGISTRY:
        try:
            from specvae.chem import substructure  # noqa: F401  (registers "specvae")
        except ImportError:
            pass


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a ``(n, n_bits)`` 0/1 array into ``(n, ceil(n_bits / 8))`` bytes (big bit order)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8), axis=-1)


def unpack_bits(packed: np.ndarray, n_bits: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: ``(n, ceil(n_bits / 8))`` bytes -> ``(n, n_bits)`` uint8 0/1."""
    return np.unpackbits(np.asarray(packed, dtype=np.uint8), axis=-1, count=n_bits)


def compute_fingerprints(structures: Sequence, fingerprinter: Fingerprinter | str = DEFAULT_FINGERPRINT, cache=None,
                         workers: int = 1, progress: bool = False) -> np.ndarray:
    """Fingerprints of parsed structures, one row per structure (``uint8`` 0/1, shape ``(n, n_bits)``).

    Parameters
    ----------
    structures
        :class:`specvae.chem.structures.Structure` objects (canonical SMILES + InChIKey). Each distinct InChIKey is
        computed once; duplicates share the row.
    fingerprinter
        A :class:`Fingerprinter` or a fingerprint name; default ``"specvae"``.
    cache
        A :class:`specvae.chem.cache.FingerprintCache` (or the path of its file); ``None`` computes everything. Hits
        are read from it, misses computed and written back.
    workers
        Processes to compute cache misses with (1 = in this process). Workers receive SMILES, not molecules.
    progress
        Draw a progress bar.
    """
    from specvae.chem.parallel import compute_smiles

    if isinstance(fingerprinter, str):
        fingerprinter = get_fingerprinter(fingerprinter)
    spec = fingerprinter.spec
    keys = [s.inchikey for s in structures]
    if not keys:
        return np.zeros((0, spec.n_bits), np.uint8)
    unique = list(dict.fromkeys(keys))
    first = {s.inchikey: s for s in reversed(structures)}
    bits = np.zeros((len(unique), spec.n_bits), dtype=np.uint8)
    if cache is not None and not hasattr(cache, "get_many"):
        from specvae.chem.cache import FingerprintCache

        cache = FingerprintCache(cache)
    hits = cache.get_many(spec, unique) if cache is not None else {}
    missing = [i for i, k in enumerate(unique) if k not in hits]
    found = [i for i, k in enumerate(unique) if k in hits]
    if found:  # one unpacking for all hits
        packed_hits = np.frombuffer(b"".join(hits[unique[i]] for i in found), dtype=np.uint8)
        bits[found] = unpack_bits(packed_hits.reshape(len(found), -1), spec.n_bits)
    if missing:
        computed = compute_smiles([first[unique[i]].smiles for i in missing], fingerprinter, workers=workers,
                                  progress=progress)
        bits[missing] = computed
        if cache is not None:
            packed = pack_bits(computed)
            cache.put_many(spec, ((unique[i], packed[r].tobytes()) for r, i in enumerate(missing)))
    row = {k: i for i, k in enumerate(unique)}
    return bits[[row[k] for k in keys]]
