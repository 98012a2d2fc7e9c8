"""Assemble the dataset after reading: structures, exclusion, molecule-only rows, fingerprints, ids, splits -> one
Arrow table (the second stage of :func:`specvae.ingest.ingest`)."""

from __future__ import annotations

import os
import re
import time
from collections import Counter

import numpy as np

from specvae import schema
from specvae.chem.fingerprints import packed_fingerprints
from specvae.chem.structures import Structure, parse_many
from specvae.datasets.splits import assign_splits


def assemble(rows, rejects: list, *, sources: list[str], molecules, excluded: set, fingerprinter, seed: int,
           fractions, pool, workers: int, cache, progress: bool, timings: dict):
    """Returns ``(table, molecule_report, structure_report, split_report, changes)``; appends to ``rejects``.

    ``changes`` lists every written spectrum and molecule whose structure standardisation changed (a salt reduced to
    its largest organic fragment, a charge neutralised; :func:`specvae.chem.structures.standardize`): source,
    record, line, the text given, the SMILES written and the change.
    """
    from specvae.readers.structures import read_structures

    t = time.perf_counter()
    texts = [(smiles or "", inchi or "") for smiles, inchi in zip(rows.meta["smiles"], rows.meta["inchi"])]
    mol_rows = [row for path in molecules for row in read_structures(path)]
    mol_texts = [(m.smiles, m.inchi) for m in mol_rows]
    parsed = parse_many(texts + mol_texts, pool=pool, progress=progress)
    timings["structures_s"] = time.perf_counter() - t

    # spectra: structure or reason; exclusion
    n = len(rows)
    structures: list[Structure | None] = [None] * n
    unparsed: Counter = Counter()
    keep = np.ones(n, dtype=bool)
    for i, s in enumerate(parsed[:n]):
        if isinstance(s, Structure):
            structures[i] = s
            block = s.inchikey14
        else:
            block = None
        given = (rows.meta["inchikey"][i] or "")[:14].upper()
        hit = block if block in excluded else given if given in excluded else None
        if hit:
            keep[i] = False
            rejects.append({"source": rows.source[i], "record": rows.record[i], "line": rows.line[i],
                            "reason": "excluded_structure",
                            "detail": f"InChIKey first block {hit} is in the exclusion list"})
        elif not isinstance(s, Structure):
            unparsed[s.reason] += 1

    # molecule-only rows
    mol_structures: list[Structure] = []
    mol_kept = []
    mol_rejects: list[dict] = []
    seen: set[str] = set()
    for m, s in zip(mol_rows, parsed[n:]):
        reason = detail = None
        if not (m.smiles or m.inchi):
            reason, detail = "no_structure", "empty row"
        elif not isinstance(s, Structure):
            reason, detail = s
        elif s.inchikey14 in excluded:
            reason, detail = "excluded_structure", f"InChIKey first block {s.inchikey14} is in the exclusion list"
        elif s.inchikey in seen:
            reason, detail = "duplicate_structure", f"InChIKey {s.inchikey} already listed earlier in the file"
        if reason:
            mol_rejects.append({"source": m.source, "record": m.row, "line": m.line, "reason": reason,
                                "detail": detail})
            continue
        seen.add(s.inchikey)
        mol_structures.append(s)
        mol_kept.append(m)

    # fingerprints: once per distinct InChIKey
    t = time.perf_counter()
    paired = [s for s, k in zip(structures, keep) if s is not None and k]
    fingerprinted = paired + mol_structures  # the spectra's own drawings first: they are the ones fingerprinted
    packed = packed_fingerprints(fingerprinted, fingerprinter, cache=cache, workers=workers, progress=progress)
    fps = {s.inchikey: row.tobytes() for s, row in zip(fingerprinted, packed)}
    timings["fingerprints_s"] = time.perf_counter() - t

    table, split_report = _table(rows, keep, structures, fps, mol_kept, mol_structures, fingerprinter, seed, fractions)
    order = {source: i for i, source in enumerate(dict.fromkeys([*sources, *(r["source"] for r in rejects)]))}
    rejects.sort(key=lambda r: (order[r["source"]], r["record"]))  # file order (exclusions were appended last)
    rejects.extend(mol_rejects)
    changes = _changes(rows, keep, structures, texts, mol_kept, mol_structures)
    structure_report = {
        "distinct_structure_texts": len({k for k in texts + mol_texts if k[0] or k[1]}),
        "distinct_inchikeys": len({s.inchikey for s in paired}),
        "distinct_inchikey14": len({s.inchikey14 for s in paired}),
        "spectrum_only_by_reason": dict(sorted(unparsed.items())),
        "excluded_inchikey14_listed": len(excluded),
        "standardised": len(changes),
        "standardised_by_change": dict(sorted(Counter(part for c in changes
                                                      for part in c["change"].split("; ")).items())),
    }
    molecule_report = {
        "paths": [os.fspath(m) for m in molecules],
        "read": len(mol_rows),
        "written": len(mol_kept),
        "rejected": len(mol_rejects),
        "rejected_by_reason": dict(sorted(Counter(r["reason"] for r in mol_rejects).items())),
    }
    return table, molecule_report, structure_report, split_report, changes


def _changes(rows, keep, structures, texts, mol_rows, mol_structures) -> list[dict]:
    """The written rows whose structure standardisation changed (see :func:`assemble`), in row order."""
    out = []
    pairs = [(rows.source[i], rows.record[i], rows.line[i], texts[i], s) for i, s in enumerate(structures)
             if keep[i] and s is not None]
    pairs += [(m.source, m.row, m.line, (m.smiles, m.inchi), s) for m, s in zip(mol_rows, mol_structures)]
    for source, record, line, (smiles, inchi), s in pairs:
        change = "; ".join(part for part in s.note.split("; ") if part and part != "Kekulé SMILES")
        if change:
            out.append({"source": source, "record": record, "line": line, "given": smiles or inchi,
                        "smiles": s.smiles, "change": re.sub(r"largest of \d+ fragments", "largest fragment kept",
                                                             change)})
    return out


def _ids(sources: list[str], records: list[int], accessions: list) -> list[str]:
    """Accession where there is one and it is unique, else ``<file name>#<record>`` (then ``<path>#<record>``)."""
    seen: set[str] = set()
    out = []
    for source, record, acc in zip(sources, records, accessions):
        candidates = [acc] if acc else []
        candidates += [f"{os.path.basename(source)}#{record}", f"{source}#{record}"]
        row_id = next((c for c in candidates if c not in seen), None)
        k = 2
        while row_id is None:
            row_id = f"{source}#{record}~{k}"
            row_id = None if row_id in seen else row_id
            k += 1
        seen.add(row_id)
        out.append(row_id)
    return out


def _table(rows, keep, structures, fps, mol_rows, mol_structures, fingerprinter, seed, fractions):
    import pyarrow as pa

    idx = np.flatnonzero(keep)
    counts_all = np.concatenate(rows.counts) if rows.counts else np.zeros(0, np.int64)
    bins_all = np.concatenate(rows.bins) if rows.bins else np.zeros(0, np.uint16)
    values_all = np.concatenate(rows.values) if rows.values else np.zeros(0, np.float32)
    peak_counts = np.concatenate(rows.peak_counts) if rows.peak_counts else np.zeros(0, np.int64)
    peak_mz = np.concatenate(rows.peak_mz) if rows.peak_mz else np.zeros(0, np.float64)
    peak_intensity = np.concatenate(rows.peak_intensity) if rows.peak_intensity else np.zeros(0, np.float64)
    if not keep.all():
        entries = np.repeat(keep, counts_all)
        bins_all, values_all, counts_all = bins_all[entries], values_all[entries], counts_all[keep]
        entries = np.repeat(keep, peak_counts)
        peak_mz, peak_intensity, peak_counts = peak_mz[entries], peak_intensity[entries], peak_counts[keep]

    def pick(values):
        return [values[i] for i in idx]

    n_mol = len(mol_rows)
    meta = rows.meta
    s_struct = pick(structures)
    sources = pick(rows.source) + [m.source for m in mol_rows]
    records = pick(rows.record) + [m.row for m in mol_rows]
    ids = _ids(sources, records, pick(meta["id"]) + [m.id or None for m in mol_rows])
    all_struct = s_struct + mol_structures
    kinds = [schema.PAIRED if s is not None else schema.SPECTRUM_ONLY for s in s_struct]
    kinds += [schema.MOLECULE_ONLY] * n_mol
    blocks = [s.inchikey14 if s is not None else None for s in all_struct]
    splits = assign_splits(blocks, ids, seed=seed, fractions=fractions)
    n_spec = len(idx)
    ms_level = [v if v is not None and 0 < v < 128 else None for v in pick(meta["ms_level"])] + [None] * n_mol
    offsets = np.zeros(n_spec + n_mol + 1, dtype=np.int32)
    np.cumsum(counts_all, out=offsets[1: n_spec + 1])
    offsets[n_spec + 1:] = offsets[n_spec]
    peak_offsets = np.zeros(n_spec + n_mol + 1, dtype=np.int64)
    np.cumsum(peak_counts, out=peak_offsets[1: n_spec + 1])
    peak_offsets[n_spec + 1:] = peak_offsets[n_spec]
    spectrum_mask = pa.array(np.r_[np.zeros(n_spec, bool), np.ones(n_mol, bool)])
    n_bits = fingerprinter.spec.n_bits
    columns = {
        schema.ID: ids,
        schema.KIND: kinds,
        schema.SPLIT: splits,
        schema.SOURCE: sources,
        schema.RECORD: records,
        schema.LINE: pick(rows.line) + [m.line for m in mol_rows],
        schema.NAME: pick(meta["name"]) + [m.name or None for m in mol_rows],
        schema.PRECURSOR_MZ: pick(meta["precursor_mz"]) + [None] * n_mol,
        schema.ADDUCT: pick(meta["adduct"]) + [None] * n_mol,
        schema.INSTRUMENT_TYPE: pick(meta["instrument_type"]) + [None] * n_mol,
        schema.INSTRUMENT: pick(meta["instrument"]) + [None] * n_mol,
        schema.COLLISION_ENERGY: pick(meta["collision_energy"]) + [None] * n_mol,
        schema.ION_MODE: pick(meta["ion_mode"]) + [None] * n_mol,
        schema.MS_LEVEL: ms_level,
        schema.LICENSE: pick(meta["license"]) + [None] * n_mol,
        schema.INCHIKEY: [s.inchikey if s is not None else None for s in all_struct],
        schema.INCHIKEY14: blocks,
        schema.SMILES: [s.smiles if s is not None else None for s in all_struct],
        schema.RETENTION_TIME: pick(meta["retention_time"]) + [None] * n_mol,
        schema.N_PEAKS: np.r_[counts_all, np.zeros(n_mol, np.int64)].astype(np.int32),
    }
    target = schema.arrow_schema(n_bits)
    arrays = []
    for f in target:
        if f.name == schema.BINS:
            arrays.append(pa.ListArray.from_arrays(pa.array(offsets), pa.array(bins_all, pa.uint16()),
                                                   mask=spectrum_mask))
        elif f.name == schema.INTENSITIES:
            arrays.append(pa.ListArray.from_arrays(pa.array(offsets), pa.array(values_all, pa.float32()),
                                                   mask=spectrum_mask))
        elif f.name in (schema.PEAK_MZ, schema.PEAK_INTENSITY):
            flat = peak_mz if f.name == schema.PEAK_MZ else peak_intensity
            arrays.append(pa.ListArray.from_arrays(pa.array(peak_offsets.astype(np.int32)),
                                                   pa.array(flat, pa.float64()), mask=spectrum_mask))
        elif f.name == schema.FINGERPRINT:
            arrays.append(pa.array([fps.get(s.inchikey) if s is not None else None for s in all_struct], f.type))
        elif f.name == schema.N_PEAKS:
            arrays.append(pa.array(columns[f.name], f.type, mask=np.asarray(spectrum_mask)))
        else:
            arrays.append(pa.array(columns[f.name], f.type))
    table = pa.Table.from_arrays(arrays, schema=target)
    split_report = {}
    for split in schema.SPLITS:
        c = Counter(k for k, s in zip(kinds, splits) if s == split)
        split_report[split] = {kind: c.get(kind, 0) for kind in schema.KINDS}
        split_report[split]["inchikey14"] = len({b for b, s in zip(blocks, splits) if s == split and b})
    return table, split_report
