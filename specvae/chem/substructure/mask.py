"""The mask: which bits of the pool form the ``specvae`` fingerprint, and the rule that chose them.

The rule (applied by :func:`build_mask` to a reference set of structures, deduplicated by InChIKey first block):

1. compute every bit of the pool (:func:`~specvae.chem.substructure.definitions.bit_pool`) for every structure;
2. drop bits that are almost always off or almost always on: on-frequency below ``min_frequency`` or above
   ``1 - min_frequency`` (default 0.001);
3. drop bits identical, on every reference structure, to a bit earlier in family order (they add no information);
4. rank the rest by the binary entropy of their on-frequency (ties: family order) and store them with their rank.

A fingerprint of width ``n`` is the ``n`` best-ranked bits, in family order (family, then bit within the family), so
masks of different widths are nested and all come from one file. The file stores every ranked bit; ``index`` is the
bit's position in the default width (2149) or -1.

Files: ``fingerprint_v<version>.tsv`` (one row per ranked bit) and ``fingerprint_v<version>.json`` (version, rule,
reference set and counts, package versions, SHA-256 of the TSV).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from specvae.chem.substructure.definitions import FAMILIES, BitDef

log = logging.getLogger("specvae.chem")

DEFAULT_N_BITS = 2149
DEFAULT_MIN_FREQUENCY = 0.001
MASK_VERSION = "1"
COLUMNS = ("index", "rank", "family", "family_bit", "kind", "min_count", "definition", "name", "frequency",
           "entropy")


def data_dir() -> Path:
    """Where the package keeps its mask files (``specvae/chem/data``)."""
    return Path(__file__).resolve().parents[1] / "data"


def mask_path(version: str = MASK_VERSION) -> Path:
    return data_dir() / f"fingerprint_v{version}.tsv"


@dataclass(frozen=True)
class RankedBit:
    """A bit of the mask file: its definition, rank (1 = most informative), on-frequency and entropy (bits)."""

    bit: BitDef
    rank: int
    frequency: float
    entropy: float


@dataclass
class Mask:
    """A ranked selection of pool bits and its provenance (``meta``: rule, reference set, versions)."""

    version: str
    ranked: list[RankedBit]
    meta: dict = field(default_factory=dict)

    @property
    def max_bits(self) -> int:
        return len(self.ranked)

    def select(self, n_bits: int = DEFAULT_N_BITS) -> list[BitDef]:
        """The ``n_bits`` best-ranked bits in family order."""
        if not 1 <= n_bits <= len(self.ranked):
            raise ValueError(f"the specvae fingerprint v{self.version} has widths 1 to {len(self.ranked)}, "
                             f"not {n_bits}")
        chosen = [r for r in self.ranked if r.rank <= n_bits]
        order = {family: i for i, family in enumerate(FAMILIES)}
        return [r.bit for r in sorted(chosen, key=lambda r: (order[r.bit.family], r.bit.family_bit))]


def entropy(p: np.ndarray) -> np.ndarray:
    """Binary entropy in bits of on-frequencies ``p`` (0 at p = 0 or 1)."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    return np.nan_to_num(h, nan=0.0)


def rank_bits(pool: list[BitDef], bits: np.ndarray, min_frequency: float = DEFAULT_MIN_FREQUENCY) -> list[RankedBit]:
    """Apply the rule to pool bits computed on the reference set (``bits``: ``(structures, len(pool))`` 0/1)."""
    if bits.shape[1] != len(pool):
        raise ValueError(f"bits have {bits.shape[1]} columns but the pool has {len(pool)} bits")
    n = bits.shape[0]
    if n == 0:
        raise ValueError("the reference set is empty")
    frequency = bits.mean(axis=0, dtype=np.float64)
    informative = (frequency >= min_frequency) & (frequency <= 1 - min_frequency)
    # duplicates: identical columns; keep the first in family order
    packed = np.packbits(bits.astype(bool), axis=0)
    seen: set[bytes] = set()
    keep = np.zeros(len(pool), dtype=bool)
    for j in np.flatnonzero(informative):
        key = packed[:, j].tobytes()
        if key not in seen:
            seen.add(key)
            keep[j] = True
    h = entropy(frequency)
    candidates = np.flatnonzero(keep)
    order = candidates[np.lexsort((candidates, -h[candidates]))]
    return [RankedBit(pool[j], rank, float(frequency[j]), float(h[j])) for rank, j in enumerate(order, start=1)]


def write_mask(mask: Mask, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``path`` (TSV) and its ``.json`` companion atomically."""
    path = Path(path)
    meta_path = path.with_suffix(".json")
    if not overwrite and (path.exists() or meta_path.exists()):
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    default = {(b.family, b.family_bit): i for i, b in enumerate(mask.select(min(DEFAULT_N_BITS, mask.max_bits)))}
    lines = ["\t".join(COLUMNS)]
    order = {family: i for i, family in enumerate(FAMILIES)}
    for r in sorted(mask.ranked, key=lambda r: (order[r.bit.family], r.bit.family_bit)):
        b = r.bit
        for text in (b.definition, b.name):
            if "\t" in text or "\n" in text:
                raise ValueError(f"bit {b.family}:{b.family_bit} has a tab or newline in its text")
        lines.append("\t".join(map(str, (default.get(b.key, -1), r.rank, b.family, b.family_bit, b.kind, b.min_count,
                                         b.definition, b.name, f"{r.frequency:.6g}", f"{r.entropy:.6g}"))))
    text = "\n".join(lines) + "\n"
    meta = dict(mask.meta, version=mask.version, n_ranked=mask.max_bits, default_n_bits=min(DEFAULT_N_BITS,
                mask.max_bits), tsv_sha256=hashlib.sha256(text.encode()).hexdigest())
    path.parent.mkdir(parents=True, exist_ok=True)
    for target, content in ((path, text), (meta_path, json.dumps(meta, indent=2, sort_keys=True) + "\n")):
        tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
        tmp.write_text(content, encoding="utf-8")
        os.replace(tmp, target)
    return path


def read_mask(path: str | Path | None = None) -> Mask:
    """Read a mask file (default: the one shipped with the package) and check it against its JSON companion."""
    path = Path(path) if path is not None else mask_path()
    meta_path = path.with_suffix(".json")
    if not path.exists():
        raise FileNotFoundError(2, "No such file (fingerprint mask)", str(path))
    text = path.read_text(encoding="utf-8")
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    if meta.get("tsv_sha256") and meta["tsv_sha256"] != hashlib.sha256(text.encode()).hexdigest():
        raise ValueError(f"{path} does not match the checksum in {meta_path}: the mask file was modified; "
                         "rebuild it with `specvae fingerprint-mask`")
    rows = text.splitlines()
    header = tuple(rows[0].split("\t"))
    if header != COLUMNS:
        raise ValueError(f"{path}: unexpected columns {header}; expected {COLUMNS}")
    ranked = []
    for number, line in enumerate(rows[1:], start=2):
        values = dict(zip(COLUMNS, line.split("\t")))
        if len(values) != len(COLUMNS):
            raise ValueError(f"{path}:{number}: expected {len(COLUMNS)} tab-separated fields")
        bit = BitDef(values["family"], int(values["family_bit"]), values["kind"], values["definition"],
                     int(values["min_count"]), values["name"])
        ranked.append(RankedBit(bit, int(values["rank"]), float(values["frequency"]), float(values["entropy"])))
    ranks = sorted(r.rank for r in ranked)
    if ranks != list(range(1, len(ranked) + 1)):
        raise ValueError(f"{path}: ranks are not 1..{len(ranked)}")
    return Mask(version=str(meta.get("version", MASK_VERSION)), ranked=ranked, meta=meta)


def describe_rule(min_frequency: float) -> str:
    return (f"pool bits with on-frequency in [{min_frequency:g}, {1 - min_frequency:g}] on the reference set, "
            "duplicates of an earlier bit (identical on every reference structure) removed, ranked by binary "
            "entropy (ties: family order); width n = the n best-ranked bits in family order")
