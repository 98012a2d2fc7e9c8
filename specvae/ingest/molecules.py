"""Structure-only inputs (``--molecules FILE``): unpaired fingerprints for semi-supervised training.

Any structure file :func:`specvae.chem.inputs.read_structures` reads is accepted (optionally gzip-compressed): SMILES
lists (``.smi``/``.txt``), CSV/TSV with a SMILES or InChI column (e.g. ``svae_spectra_examples/unsupervised.csv``, the
InChI-only structure pool ``combined_unique_inchikey.tsv.gz``), SDF and MSP. SDF molblocks are turned into SMILES
here, so that ingest parses every structure text the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class MoleculeRow:
    """One structure-only input row: position (0-based row, 1-based line) and its text."""

    source: str
    record: int
    line: int
    id: str | None
    name: str | None
    smiles: str | None
    inchi: str | None


def read_molecules(path) -> list[MoleculeRow]:
    """Rows of a structure file (see the module docstring); unreadable SDF records get no text (rejected later)."""
    import os

    from specvae.chem.inputs import parse_record, read_structures
    from specvae.chem.molecules import StructureError

    rows = []
    for rec in read_structures(path):
        smiles = rec.smiles
        if rec.molblock is not None:
            try:
                smiles = parse_record(rec)[1].smiles
            except StructureError:
                smiles = None
        rows.append(MoleculeRow(os.fspath(path), rec.row, rec.line, rec.id, rec.name, smiles, rec.inchi))
    return rows
