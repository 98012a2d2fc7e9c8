"""Structures from SMILES or InChI: one canonical form for every stage.

Every structure that enters specvae (a spectrum's annotation, a structure-only molecule, a candidate, a database
entry) goes through :func:`parse_structure`, so identity and fingerprint input are decided the same way everywhere:

1. parse the SMILES (or, failing that, the InChI) with RDKit; a molecule rebuilt from InChI gets its amides and
   lactams back (:func:`amide_form`: RDKit rebuilds them from InChI's mobile hydrogens as imidic acids and lactims);
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
            return amide_form(mol)
        raise StructureError(f"invalid InChI {_shorten(inchi)!r}")
    raise StructureError("no structure (neither SMILES nor InChI given)")


_TAUTOMER_MOVES = None


def amide_form(mol):
    """Move the mobile hydrogen of imidic acids and lactims (``C(O)=N``) from oxygen to nitrogen (``C(=O)N``), and of
    ring-carbon imines next to a ring NH (``C(=N)[NH]``, nucleobases) to the exocyclic nitrogen (``C(N)=N``).

    Standard InChI does not say where a mobile hydrogen sits, and RDKit rebuilds amides from it as imidic acids
    (``CC(=O)Nc1ccccc1`` -> InChI -> ``CC(O)=Nc1ccccc1``). Both forms have the same InChIKey but different
    substructure bits, so InChI-only structures would get fingerprints that no SMILES-drawn amide has. Applied to
    molecules built from InChI only; ring forms are moved where RDKit's Kekulé form puts the double bond at the right
    carbon. The InChIKey is checked to be unchanged (else the molecule is returned as it was).
    """
    global _TAUTOMER_MOVES
    from rdkit import Chem

    if _TAUTOMER_MOVES is None:  # (donor, carbon, acceptor): the H moves from the first atom to the last
        _TAUTOMER_MOVES = [Chem.MolFromSmarts("[OX2H1+0]-[#6X3]=[#7X2+0]"),
                           Chem.MolFromSmarts("[#7X3H1+0;R]-[#6X3;R]=[NX2H1+0;!R]")]
    if not any(a.GetIsAromatic() for a in mol.GetAtoms()) and not any(mol.HasSubstructMatch(q)
                                                                       for q in _TAUTOMER_MOVES):
        return mol
    try:
        rw = Chem.RWMol(mol)
        Chem.Kekulize(rw, clearAromaticFlags=True)
        changed = False
        for _ in range(2 * rw.GetNumAtoms()):
            match = next((m for q in _TAUTOMER_MOVES for m in [rw.GetSubstructMatch(q)] if m), None)
            if not match:
                break
            donor, c, acceptor = match
            rw.GetBondBetweenAtoms(donor, c).SetBondType(Chem.BondType.DOUBLE)
            rw.GetBondBetweenAtoms(c, acceptor).SetBondType(Chem.BondType.SINGLE)
            for index in (donor, acceptor):
                atom = rw.GetAtomWithIdx(index)
                atom.SetNumExplicitHs(0)
                atom.SetNoImplicit(False)
            rw.UpdatePropertyCache(strict=False)
            changed = True
        if not changed:
            return mol
        out = rw.GetMol()
        Chem.SanitizeMol(out)
        if Chem.MolToInchiKey(out) != Chem.MolToInchiKey(mol):
            return mol
        return out
    except Exception:  # noqa: BLE001 - a failed tautomer move keeps the molecule RDKit built
        return mol


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
