"""Structure-only inputs (``--molecules FILE``): unpaired fingerprints for semi-supervised training.

Any structure file :func:`specvae.chem.inputs.read_structures` reads is accepted (optionally gzip-compressed): SMILES
lists (``.smi``/``.txt``), CSV/TSV with a SMILES or InChI column (e.g. ``svae_spectra_examples/unsupervised.csv``, the
InChI-only structure pool ``combined_unique_inchikey.tsv.gz``), SDF and MSP.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class MoleculeRow:
    """One structure-only input row: its file, position (0-based row, 1-based line) and text."""

    source: str
    record: int
    line: int
    id: str | None
    name: str | None
    smiles: str | None
    inchi: str | None


def read_molecules(path) -> list[MoleculeRow]:
    """Rows of a structure file (see the module docstring); an unreadable record gets no text (rejected later)."""
    from specvae.chem.inputs import read_structures

    return [MoleculeRow(r.source, r.row, r.line, r.id or None, r.name or None, r.smiles or None, r.inchi or None)
            for r in read_structures(path)]
