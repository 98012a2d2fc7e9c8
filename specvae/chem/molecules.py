"""Structures from SMILES or InChI: one canonical form for every stage.

Every structure that enters specvae (a spectrum's annotation, a candidate, a database entry) goes through
:func:`parse_structure`, so identity is decided the same way everywhere: the first InChIKey block (connectivity,
stereo and isotopes ignored) for splits, exclusion lists and evaluation; the RDKit canonical isomeric SMILES for
display. Published benchmarks leaked answers through differently written SMILES of the same molecule; comparing
InChIKey blocks computed here avoids that.
"""

from __future__ import annotations

from dataclasses import dataclass

from specvae.errors import InputError


class StructureError(InputError):
    """A SMILES or InChI string cannot be turned into a molecule; the message is the reason."""


@dataclass(frozen=True)
class Structure:
    """A parsed structure: RDKit canonical isomeric SMILES and the standard InChIKey computed from the molecule."""

    smiles: str
    inchikey: str

    @property
    def inchikey14(self) -> str:
        """The first InChIKey block (14 characters): the skeleton identity used for splits and evaluation."""
        return self.inchikey[:14]


def inchikey14(inchikey: str) -> str:
    """First block of an InChIKey (``"KWILGNNWGSNMPA-UHFFFAOYSA-N"`` -> ``"KWILGNNWGSNMPA"``)."""
    return inchikey.strip()[:14].upper()


def _quiet_rdkit():
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")


def mol_from_text(smiles: str | None = None, inchi: str | None = None):
    """An RDKit molecule from SMILES (preferred) or InChI.

    Raises
    ------
    StructureError
        When neither is given or the text cannot be parsed (the message says which and why).
    """
    from rdkit import Chem

    _quiet_rdkit()
    smiles = (smiles or "").strip()
    inchi = (inchi or "").strip()
    if smiles and smiles.upper() not in {"N/A", "NA", "NAN", "NONE", "-"}:
        mol = Chem.MolFromSmiles(smiles)
        if mol is not None and mol.GetNumAtoms() > 0:
            return mol
        if not inchi:
            raise StructureError(f"invalid SMILES {_shorten(smiles)!r}")
    if inchi and inchi.upper() not in {"N/A", "NA", "NAN", "NONE", "-"}:
        if not inchi.startswith("InChI="):
            inchi = "InChI=" + inchi
        mol = Chem.MolFromInchi(inchi, sanitize=True, removeHs=True)
        if mol is not None and mol.GetNumAtoms() > 0:
            return mol
        raise StructureError(f"invalid InChI {_shorten(inchi)!r}")
    raise StructureError("no structure (neither SMILES nor InChI given)")


def describe(mol) -> Structure:
    """Canonical SMILES and InChIKey of an RDKit molecule (raises :class:`StructureError` if no InChIKey exists)."""
    from rdkit import Chem

    _quiet_rdkit()
    key = Chem.MolToInchiKey(mol)
    if not key:
        raise StructureError("RDKit cannot compute an InChIKey for this molecule")
    return Structure(smiles=Chem.MolToSmiles(mol), inchikey=key)


def parse_structure(smiles: str | None = None, inchi: str | None = None):
    """Parse a structure; returns ``(mol, Structure)`` or raises :class:`StructureError` with the reason."""
    mol = mol_from_text(smiles, inchi)
    return mol, describe(mol)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
