"""Structures of ingested rows: each distinct SMILES/InChI text parsed once, each distinct InChIKey fingerprinted once.

MassBank has ~12 spectra per structure, so ingest collects the distinct ``(smiles, inchi)`` texts first, parses those
with :func:`specvae.chem.molecules.parse_structure` (in several processes with ``workers`` > 1), and fingerprints
one representative per InChIKey with :func:`specvae.chem.fingerprints.compute_fingerprints`.

A text that does not parse is not an error of the record: the spectrum is written as ``spectrum_only`` and the
reason (``no_structure``, ``invalid_smiles``, ``invalid_inchi``, ``no_inchikey``) is counted in the report.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

STRUCTURE_BATCH = 256  # texts per task when parsing in several processes


def structure_reason(message: str) -> str:
    """Stable reason code for a :class:`~specvae.chem.molecules.StructureError` message."""
    text = message.lower()
    if text.startswith("no structure"):
        return "no_structure"
    if text.startswith("invalid smiles"):
        return "invalid_smiles"
    if text.startswith("invalid inchi"):
        return "invalid_inchi"
    if "inchikey" in text:
        return "no_inchikey"
    return "invalid_structure"


def parse_texts(texts: Sequence[tuple[str | None, str | None]]) -> list:
    """``Structure`` or ``(reason, message)`` for each ``(smiles, inchi)`` pair (runs in worker processes too)."""
    from specvae.chem.molecules import StructureError, parse_structure

    out: list = []
    for smiles, inchi in texts:
        if not smiles and not inchi:
            out.append(("no_structure", "no SMILES or InChI"))
            continue
        try:
            out.append(parse_structure(smiles=smiles, inchi=inchi)[1])
        except StructureError as exc:
            out.append((structure_reason(str(exc)), str(exc)))
        except Exception as exc:  # noqa: BLE001 - RDKit can raise odd errors on odd input; never crash the run
            out.append(("invalid_structure", f"{type(exc).__name__}: {exc}"[:200]))
    return out


def resolve(texts: Sequence[tuple[str | None, str | None]], pool=None, progress: bool = False) -> dict:
    """Map each distinct ``(smiles, inchi)`` text in ``texts`` to its ``Structure`` or ``(reason, message)``."""
    from specvae.progress import counter

    unique = list(dict.fromkeys(t for t in texts if t[0] or t[1]))
    result: dict = {}
    with counter("Structures", total=len(unique), enabled=progress and bool(unique)) as advance:
        if pool is None or len(unique) < 2 * STRUCTURE_BATCH:
            for start in range(0, len(unique), STRUCTURE_BATCH):
                part = unique[start: start + STRUCTURE_BATCH]
                result.update(zip(part, parse_texts(part)))
                advance(len(part))
        else:
            parts = [unique[i: i + STRUCTURE_BATCH] for i in range(0, len(unique), STRUCTURE_BATCH)]
            for part, parsed in zip(parts, pool.map(parse_texts, parts)):
                result.update(zip(part, parsed))
                advance(len(part))
    return result


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
