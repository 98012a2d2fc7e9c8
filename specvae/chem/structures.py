"""Structures from SMILES or InChI: one parser, one record type, one canonical form for every stage.

Every structure that enters specvae (a spectrum's annotation, a structure-only molecule, a candidate, a database
entry, a row of ``specvae fingerprint``) goes through :func:`parse_structure` (one text) or :func:`parse_many` (many
texts: each distinct text parsed once, in worker processes, remembered in the cache), so identity and fingerprint
input are decided the same way everywhere and every failure has the same reason code (:func:`reason_code`):

1. parse the SMILES (or, failing that, the InChI) with RDKit; a molecule rebuilt from InChI gets its amides and
   lactams back (:func:`amide_form`: RDKit rebuilds them from InChI's mobile hydrogens as imidic acids and lactims);
2. *standardise* (:func:`standardize`): a multi-component structure (salt, hydrate: SMILES with ``.``) keeps its
   largest organic fragment, since the spectrometer sees the organic ion and ``X.HCl`` must match ``X``; a net charge
   is neutralised where a proton can be added or removed (RDKit ``Uncharger``), while permanently charged molecules
   (quaternary ammonium) stay charged;
3. describe (:func:`describe`): the RDKit canonical isomeric SMILES (the Kekulé form where RDKit cannot read back its
   own aromatic SMILES, as for some InChI-derived rings; fingerprints are computed from this SMILES), the standard
   InChIKey computed from the molecule (a given InChIKey is never trusted), the formula, the monoisotopic mass and
   the net charge: one :class:`Structure`.

Identity is the first InChIKey block (connectivity; stereo and isotopes ignored) for splits, exclusion lists and
evaluation. Published benchmarks leaked answers through differently written SMILES of the same molecule; comparing
blocks computed here avoids that.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

from specvae.errors import InputError
from specvae.readers.structures import StructureRecord

CHUNK = 256  # texts per task when parsing in several processes


class StructureError(InputError):
    """A SMILES or InChI string cannot be turned into a molecule; the message is the reason."""


class Structure(NamedTuple):
    """A parsed, standardised structure: canonical SMILES, InChIKey, formula, monoisotopic mass (Da), net charge.

    A named tuple (not a dataclass) because database queries build thousands per spectrum. ``note`` says what
    standardisation changed (``"largest of 2 fragments"``, ``"neutralised"``, ``"Kekulé SMILES"``), empty if nothing.
    """

    smiles: str
    inchikey: str
    formula: str = ""
    mass: float = 0.0
    charge: int = 0
    note: str = ""

    @property
    def inchikey14(self) -> str:
        """The first InChIKey block (14 characters): the skeleton identity used for splits and evaluation."""
        return self.inchikey[:14]


class Unparsed(NamedTuple):
    """A text that is not a structure: a stable reason code (:func:`reason_code`) and the message."""

    reason: str
    message: str


def inchikey14(inchikey: str) -> str:
    """First block of an InChIKey (``"KWILGNNWGSNMPA-UHFFFAOYSA-N"`` -> ``"KWILGNNWGSNMPA"``)."""
    return inchikey.strip()[:14].upper()


def quiet_rdkit():
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

    quiet_rdkit()
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

    quiet_rdkit()
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


def describe(mol, note: str = "") -> Structure:
    """The :class:`Structure` of a molecule (SMILES readable back by RDKit); :class:`StructureError` if impossible."""
    from rdkit import Chem
    from rdkit.Chem import Descriptors, rdMolDescriptors

    quiet_rdkit()
    key = Chem.MolToInchiKey(mol)
    if not key:
        raise StructureError("RDKit cannot compute an InChIKey for this molecule")
    smiles = Chem.MolToSmiles(mol)
    if Chem.MolFromSmiles(smiles) is None:  # e.g. InChI-derived rings RDKit aromatises but cannot read back
        kekule = Chem.MolToSmiles(mol, kekuleSmiles=True)
        if Chem.MolFromSmiles(kekule) is None:
            raise StructureError(f"RDKit cannot read back its own canonical SMILES {smiles!r}")
        smiles = kekule
        note = "; ".join(n for n in (note, "Kekulé SMILES") if n)
    return Structure(smiles=smiles, inchikey=key, formula=rdMolDescriptors.CalcMolFormula(mol),
                     mass=float(Descriptors.ExactMolWt(mol)), charge=int(Chem.GetFormalCharge(mol)), note=note)


def parse_structure(smiles: str | None = None, inchi: str | None = None):
    """Parse and standardise a structure; returns ``(mol, Structure)`` or raises :class:`StructureError`.

    ``mol`` is the standardised RDKit molecule the ``Structure`` describes.
    """
    mol, note = standardize(mol_from_text(smiles, inchi))
    return mol, describe(mol, note)


def reason_code(message: str) -> str:
    """Stable reason code for a :class:`StructureError` message: ``no_structure``, ``invalid_smiles``,
    ``invalid_inchi``, ``no_inchikey`` or ``invalid_structure``."""
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


def parse(smiles: str | None = None, inchi: str | None = None) -> Structure | Unparsed:
    """The :class:`Structure` of a text, or :class:`Unparsed` with the reason; never raises on bad input."""
    try:
        return parse_structure(smiles=smiles, inchi=inchi)[1]
    except StructureError as exc:
        return Unparsed(reason_code(str(exc)), str(exc))
    except Exception as exc:  # noqa: BLE001 - RDKit can raise on exotic input (valence, kekulisation): a row, not a crash
        return Unparsed("invalid_structure", f"RDKit failed: {type(exc).__name__}: {exc}"[:200])


def _parse_chunk(texts: Sequence[tuple[str, str]]) -> list[Structure | Unparsed]:
    return [parse(smiles, inchi) for smiles, inchi in texts]


def canonical_version() -> str:
    """Key of the standardisation in the cache: results may change with the RDKit version."""
    from rdkit import __version__ as rdkit_version

    return f"specvae-standardize-2/rdkit-{rdkit_version}"


def parse_many(texts: Sequence[tuple[str | None, str | None]], workers: int = 1, pool=None, cache=None,
               progress: bool = False) -> list[Structure | Unparsed]:
    """:func:`parse` for many ``(smiles, inchi)`` texts, in order; each distinct text is parsed once.

    Chunks of :data:`CHUNK` texts go to ``pool`` (a process pool) or, with ``workers`` > 1, to a pool made here. With a
    ``cache`` (:class:`specvae.chem.cache.FingerprintCache`), results of earlier runs are reused and new ones stored:
    failures too, so a second pass over the same texts parses nothing.
    """
    from specvae.progress import counter

    keys = [(smiles or "", inchi or "") for smiles, inchi in texts]
    unique = list(dict.fromkeys(keys))
    done: dict[tuple[str, str], Structure | Unparsed] = {}
    if cache is not None and unique:
        stored = cache.get_canonical(canonical_version(), ["\t".join(k) for k in unique])
        done = {k: _loads(stored[t]) for k, t in ((k, "\t".join(k)) for k in unique) if t in stored}
    todo = [k for k in unique if k not in done]
    chunks = [todo[i:i + CHUNK] for i in range(0, len(todo), CHUNK)]
    own = pool is None and workers > 1 and len(chunks) > 1
    if own:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))
    new: dict[tuple[str, str], Structure | Unparsed] = {}
    try:
        with counter("parsing structures", total=len(todo), enabled=progress and bool(todo)) as advance:
            parse_chunks = pool.map if pool is not None and len(chunks) > 1 else map
            for chunk, parsed in zip(chunks, parse_chunks(_parse_chunk, chunks)):
                new.update(zip(chunk, parsed))
                advance(len(chunk))
    finally:
        if own:
            pool.shutdown()
    if cache is not None and new:
        cache.put_canonical(canonical_version(), (("\t".join(k), _dumps(v)) for k, v in new.items()))
    done.update(new)
    return [done[k] for k in keys]


def parse_record(record: StructureRecord):
    """``(mol, Structure)`` of a record, or :class:`StructureError` with the reason."""
    if record.error:
        raise StructureError(record.error)
    return parse_structure(smiles=record.smiles, inchi=record.inchi)


def parse_records(records: Sequence[StructureRecord], workers: int = 1, pool=None, cache=None,
                  progress: bool = False) -> list[Structure | Unparsed]:
    """:func:`parse_many` over records: a ``Structure`` or ``Unparsed`` per record, in order.

    A record that could not be read at all (an unreadable SDF molblock) is ``Unparsed`` with the reader's message.
    """
    parsed = parse_many([(r.smiles, r.inchi) for r in records], workers=workers, pool=pool, cache=cache,
                        progress=progress)
    return [Unparsed("unreadable_record", r.error) if r.error else p for r, p in zip(records, parsed)]


def _dumps(value: Structure | Unparsed) -> str:
    """Cache form: a failure as its message (a string), a structure as the list of its fields."""
    return json.dumps(value.message if isinstance(value, Unparsed) else list(value))


def _loads(text: str) -> Structure | Unparsed:
    value = json.loads(text)
    return Unparsed(reason_code(value), value) if isinstance(value, str) else Structure(*value)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
