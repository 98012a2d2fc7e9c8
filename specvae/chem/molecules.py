"""Structures from SMILES or InChI: one canonical form for every stage.

Every structure that enters specvae (a spectrum's annotation, a structure-only molecule, a candidate, a database
entry) goes through :func:`parse_structure`, so identity and fingerprint input are decided the same way everywhere:

1. parse the SMILES (or, failing that, the InChI) with RDKit;
2. *standardise* (:func:`standardize`): a multi-component structure (salt, hydrate: SMILES with ``.``) keeps its
   largest organic fragment, since the spectrometer sees the organic ion and ``X.HCl`` must match ``X``; a net charge
   is neutralised where a proton can be added or removed (RDKit ``Uncharger``), while permanently charged molecules
   (quaternary ammonium) stay charged;
3. describe (:func:`describe`): the RDKit canonical isomeric SMILES (the Kekulé form where RDKit cannot read back its
   own aromatic SMILES, as for some InChI-derived rings; fingerprints are computed from this SMILES) and the standard
   InChIKey computed from the molecule; a given InChIKey is never trusted.

Identity is the first InChIKey block (connectivity; stereo and isotopes ignored) for splits, exclusion lists and
evaluation. Published benchmarks leaked answers through differently written SMILES of the same molecule; comparing
blocks computed here avoids that.
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


def standardize(mol):
    """Largest organic fragment, neutralised where possible (module docstring); returns ``(mol, note)``.

    ``note`` says what changed (``"largest of 2 fragments"``, ``"neutralised"``), empty when nothing did.
    """
    from rdkit import Chem
    from rdkit.Chem.MolStandardize import rdMolStandardize

    _quiet_rdkit()
    notes = []
    n_fragments = len(Chem.GetMolFrags(mol))
    if n_fragments > 1:
        mol = rdMolStandardize.LargestFragmentChooser(preferOrganic=True).choose(mol)
        notes.append(f"largest of {n_fragments} fragments")
    if Chem.GetFormalCharge(mol) != 0:
        neutral = rdMolStandardize.Uncharger().uncharge(mol)
        if Chem.GetFormalCharge(neutral) != Chem.GetFormalCharge(mol):
            mol = neutral
            notes.append("neutralised")
    return mol, "; ".join(notes)


def describe(mol) -> Structure:
    """Canonical SMILES (readable back by RDKit) and InChIKey of a molecule; :class:`StructureError` if impossible."""
    from rdkit import Chem

    _quiet_rdkit()
    key = Chem.MolToInchiKey(mol)
    if not key:
        raise StructureError("RDKit cannot compute an InChIKey for this molecule")
    smiles = Chem.MolToSmiles(mol)
    if Chem.MolFromSmiles(smiles) is None:  # e.g. InChI-derived rings RDKit aromatises but cannot read back
        kekule = Chem.MolToSmiles(mol, kekuleSmiles=True)
        if Chem.MolFromSmiles(kekule) is None:
            raise StructureError(f"RDKit cannot read back its own canonical SMILES {smiles!r}")
        smiles = kekule
    return Structure(smiles=smiles, inchikey=key)


def parse_structure(smiles: str | None = None, inchi: str | None = None):
    """Parse and standardise a structure; returns ``(mol, Structure)`` or raises :class:`StructureError`.

    ``mol`` is the standardised RDKit molecule the ``Structure`` describes.
    """
    mol, _ = standardize(mol_from_text(smiles, inchi))
    return mol, describe(mol)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
