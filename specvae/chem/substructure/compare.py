"""Compare our bits with fingerprints whose mask is unknown (the svae_spectra reference's 2149-bit strings).

The reference bits are an ordered, masked subset of five families (Laggner, PubChem, Klekota-Roth, FP3, MACCS) in
family order, but the mask was never published. :func:`align_columns` finds the order-preserving assignment of
reference columns to columns of our unmasked pool that maximises the number of agreeing (molecule, bit) cells; a
reference column may also stay unassigned (an FP3 bit, or a bit we cannot reproduce), scored as if predicted by its
majority value. The assigned pool column gives each reference column a family; :func:`agreement_by_family` reports how
well the assigned columns agree.

Because the alignment chooses the columns, the agreement it reports is an upper bound: a reference column that is
almost constant agrees with many of our columns. The report therefore also counts informative columns separately and
the agreement on the reference's 1-bits.
"""

from __future__ import annotations

import numpy as np


def align_columns(reference: np.ndarray, ours: np.ndarray) -> np.ndarray:
    """Order-preserving assignment of reference columns to our columns (``-1`` = unassigned).

    Parameters
    ----------
    reference
        ``(molecules, R)`` 0/1 bits with unknown column identities.
    ours
        ``(molecules, P)`` 0/1 bits (same molecules, same order).

    Returns
    -------
    ``int64`` array of length ``R``: our column for each reference column, strictly increasing where assigned.
    """
    reference = np.asarray(reference, dtype=np.int32)
    ours = np.asarray(ours, dtype=np.int32)
    n, r_cols = reference.shape
    p_cols = ours.shape[1]
    # agree[j, p] = molecules where reference column j equals our column p
    ones = reference.T @ ours
    zeros = (1 - reference).T @ (1 - ours)
    agree = (ones + zeros).astype(np.float64)
    gap = np.maximum(reference.sum(axis=0), n - reference.sum(axis=0)).astype(np.float64)
    # state l: every assigned column of ours so far is < l. best[l] = best score so far in state l.
    best = np.zeros(p_cols + 1)
    index = np.arange(p_cols)
    assigned_better = np.zeros((r_cols, p_cols + 1), dtype=bool)
    argmax = np.zeros((r_cols, p_cols + 1), dtype=np.int16 if p_cols < 2**15 else np.int32)
    for j in range(r_cols):
        with_match = best[:-1] + agree[j]  # assign reference column j to our column p (from state p)
        running = np.maximum.accumulate(with_match)  # best over p' <= p
        where = np.maximum.accumulate(np.where(with_match == running, index, 0))
        assign_value = np.concatenate([[-np.inf], running])  # state l: best over p < l
        skip_value = best + gap[j]
        assigned_better[j] = assign_value > skip_value
        argmax[j, 1:] = where
        best = np.maximum(assign_value, skip_value)
    assignment = np.full(r_cols, -1, dtype=np.int64)
    state = p_cols
    for j in range(r_cols - 1, -1, -1):
        if assigned_better[j, state]:
            assignment[j] = int(argmax[j, state])
            state = assignment[j]
    return assignment


def agreement_by_family(reference: np.ndarray, ours: np.ndarray, assignment: np.ndarray,
                        families: np.ndarray) -> dict[str, dict[str, float]]:
    """Per family of the assigned columns: columns, cell agreement, informative columns and 1-bit recall."""
    reference = np.asarray(reference, dtype=bool)
    ours = np.asarray(ours, dtype=bool)
    n = reference.shape[0]
    report: dict[str, dict[str, float]] = {}
    names = list(dict.fromkeys(families.tolist())) + ["unassigned"]
    for family in names:
        if family == "unassigned":
            cols = np.flatnonzero(assignment < 0)
        else:
            cols = np.flatnonzero((assignment >= 0) & (families[np.maximum(assignment, 0)] == family))
        if not len(cols):
            report[family] = {"columns": 0}
            continue
        ref = reference[:, cols]
        row = {"columns": int(len(cols)), "reference_on_fraction": float(ref.mean())}
        on = ref.sum(axis=0)
        informative = (on >= 5) & (on <= n - 5)
        row["informative_columns"] = int(informative.sum())
        if family != "unassigned":
            mine = ours[:, assignment[cols]]
            row["agreement"] = float((ref == mine).mean())
            row["majority_baseline"] = float(np.maximum(ref.mean(axis=0), 1 - ref.mean(axis=0)).mean())
            if informative.any():
                row["agreement_informative"] = float((ref[:, informative] == mine[:, informative]).mean())
            if ref.any():
                row["recall_of_reference_ones"] = float((ref & mine).sum() / ref.sum())
        report[family] = row
    return report
