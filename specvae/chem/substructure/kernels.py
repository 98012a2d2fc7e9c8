"""Compiled (numba) subgraph matching for a batch of molecules: RDKit's substructure semantics, without its overhead.

A query graph matches a molecule when its atoms map injectively onto molecule atoms such that every query atom's
predicate holds on its image and every query bond joins two images by a molecule bond whose predicate holds
(a monomorphism: extra molecule bonds are allowed), exactly as RDKit's VF2 matcher with ``useChirality=False``.
"Unique" matches are distinct *sets* of molecule atoms (RDKit's ``uniquify``); an "at least n" query needs n of them.

The search visits query atoms in a precomputed order (:func:`plan`) in which every atom but a root is bonded to an
earlier one (its *parent*), so candidates for it are the neighbours of its parent's image; bonds to other earlier
atoms (*back bonds*, closing rings) are checked as soon as both ends are placed. Every graph has one order per
choice of root atom; for each molecule the search starts from the query atom with fewest candidate atoms.

Predicates arrive as truth tables: ``atom_ok[atom, column]`` for every atom of the batch and
``bond_ok[bond key, column]`` for every bond key (type, in ring), both built by the evaluator.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def plan(atom_start, atom_pred, atom_degree, bond_start, bond_a, bond_b, bond_pred, plan_start, back_plan_start,
         frequency, pos_pred, pos_degree, parent, parent_bond_pred, back_start, back_pos, back_pred):
    """Search orders of every graph from every root atom, written into the output arrays.

    Graph g has atoms ``atom_start[g]:atom_start[g+1]`` (local indices 0..m-1; predicate column ``atom_pred`` and
    number of query bonds ``atom_degree``) and bonds ``bond_start[g]:bond_start[g+1]`` (local atoms ``bond_a``,
    ``bond_b``, predicate ``bond_pred``). The order from root r occupies positions ``plan_start[g] + r * m`` to
    ``plan_start[g] + (r + 1) * m`` and back bonds from ``back_plan_start[g] + r * (back bonds of g)``.
    Position p gets the predicate and degree of the atom visited there, ``parent[p]``: the offset (0..m-1) of an
    earlier position whose atom is bonded to it (-1 for a root), ``parent_bond_pred[p]``: that bond's predicate,
    and its back bonds ``back_pos/back_pred[back_start[p]:back_start[p + 1]]`` (offsets of earlier positions).

    After the root, each next atom is the unplaced one with most bonds to placed atoms (ring closures are checked
    early), then the rarest predicate (``frequency``), then the lowest index; an atom with no bond to placed atoms
    starts a new component.
    """
    for g in range(len(atom_start) - 1):
        a0 = atom_start[g]
        m = atom_start[g + 1] - a0
        b0 = bond_start[g]
        nb = bond_start[g + 1] - b0
        n_back_g = 0
        if m > 0:
            n_back_g = (back_plan_start[g + 1] - back_plan_start[g]) // m
        for r in range(m):
            base = plan_start[g] + r * m
            n_back = back_plan_start[g] + r * n_back_g
            position = np.full(m, -1, np.int64)
            for k in range(m):
                best = -1
                best_links = -1
                best_freq = 0.0
                if k == 0:
                    best = r
                else:
                    for i in range(m):
                        if position[i] >= 0:
                            continue
                        links = 0
                        for e in range(b0, b0 + nb):
                            if bond_a[e] == i and position[bond_b[e]] >= 0:
                                links += 1
                            elif bond_b[e] == i and position[bond_a[e]] >= 0:
                                links += 1
                        f = frequency[atom_pred[a0 + i]]
                        if links > best_links or (links == best_links and f < best_freq):
                            best_links = links
                            best_freq = f
                            best = i
                position[best] = k
                p = base + k
                pos_pred[p] = atom_pred[a0 + best]
                pos_degree[p] = atom_degree[a0 + best]
                parent[p] = -1
                parent_bond_pred[p] = -1
                back_start[p] = n_back
                for e in range(b0, b0 + nb):
                    if bond_a[e] == best and position[bond_b[e]] >= 0 and bond_b[e] != best:
                        other = bond_b[e]
                    elif bond_b[e] == best and position[bond_a[e]] >= 0 and bond_a[e] != best:
                        other = bond_a[e]
                    else:
                        continue
                    if parent[p] < 0:
                        parent[p] = position[other]
                        parent_bond_pred[p] = bond_pred[e]
                    else:
                        back_pos[n_back] = position[other]
                        back_pred[n_back] = bond_pred[e]
                        n_back += 1
            back_start[base + m] = n_back


@njit(cache=True, inline="always")
def _bond_key_between(adj_start, adj_nbr, adj_key, a, b):
    for e in range(adj_start[a], adj_start[a + 1]):
        if adj_nbr[e] == b:
            return adj_key[e]
    return -1


@njit(cache=True)
def _search(p0, m, first_atom, last_atom, anchor, need, pos_pred, parent, parent_bond_pred, pos_degree, back_start,
            back_pos, back_pred, adj_start, adj_nbr, adj_key, atom_ok, bond_ok, used, assign, cursor, found):
    """Whether the plan at positions ``p0:p0 + m`` has ``need`` unique matches among atoms ``first_atom:last_atom``.

    ``anchor`` >= 0 fixes the root's image. ``used``, ``assign``, ``cursor`` and ``found`` are scratch arrays
    (``used`` all False on entry and on exit).
    """
    n_found = 0
    k = 0
    cursor[0] = anchor if anchor >= 0 else first_atom
    while k >= 0:
        p = p0 + k
        pred = pos_pred[p]
        placed = -1
        if parent[p] < 0:
            stop = anchor + 1 if (k == 0 and anchor >= 0) else last_atom
            while cursor[k] < stop:
                a = cursor[k]
                cursor[k] += 1
                if used[a] or atom_ok[a, pred] == 0 or adj_start[a + 1] - adj_start[a] < pos_degree[p]:
                    continue
                ok = True
                for x in range(back_start[p], back_start[p + 1]):
                    key = _bond_key_between(adj_start, adj_nbr, adj_key, a, assign[back_pos[x]])
                    if key < 0 or bond_ok[key, back_pred[x]] == 0:
                        ok = False
                        break
                if ok:
                    placed = a
                    break
        else:
            stop = adj_start[assign[parent[p]] + 1]
            bpred = parent_bond_pred[p]
            while cursor[k] < stop:
                e = cursor[k]
                cursor[k] += 1
                a = adj_nbr[e]
                if used[a] or bond_ok[adj_key[e], bpred] == 0 or atom_ok[a, pred] == 0:
                    continue
                if adj_start[a + 1] - adj_start[a] < pos_degree[p]:
                    continue
                ok = True
                for x in range(back_start[p], back_start[p + 1]):
                    key = _bond_key_between(adj_start, adj_nbr, adj_key, a, assign[back_pos[x]])
                    if key < 0 or bond_ok[key, back_pred[x]] == 0:
                        ok = False
                        break
                if ok:
                    placed = a
                    break
        if placed < 0:  # no (more) candidates here: back up
            k -= 1
            if k >= 0:
                used[assign[k]] = False
            continue
        assign[k] = placed
        if k + 1 < m:
            used[placed] = True
            k += 1
            p = p0 + k
            if parent[p] < 0:
                cursor[k] = first_atom
            else:
                cursor[k] = adj_start[assign[parent[p]]]
            continue
        # a complete match
        if need <= 1:
            for j in range(k):
                used[assign[j]] = False
            return True
        atoms = np.sort(assign[:m])
        new = True
        for f in range(n_found):
            same = True
            for j in range(m):
                if found[f, j] != atoms[j]:
                    same = False
                    break
            if same:
                new = False
                break
        if new:
            found[n_found, :m] = atoms
            n_found += 1
            if n_found >= need:
                for j in range(k):
                    used[assign[j]] = False
                return True
    return False


@njit(cache=True)
def count_predicates(atom_ok, mol_start, columns, mol_count):
    """``mol_count[i, c]`` = atoms of molecule i for which predicate c holds, for every c in ``columns``."""
    for i in range(len(mol_start) - 1):
        for c in columns:
            mol_count[i, c] = 0
        for a in range(mol_start[i], mol_start[i + 1]):
            for c in columns:
                mol_count[i, c] += atom_ok[a, c]


@njit(cache=True, inline="always")
def _possible(g, i, req_start, req_pred, req_count, mol_count):
    for r in range(req_start[g], req_start[g + 1]):
        if mol_count[i, req_pred[r]] < req_count[r]:
            return False
    return True


@njit(cache=True)
def match_molecules(graphs, needs, mol_start, atom_start, atom_pred, plan_start, pos_pred, parent, parent_bond_pred,
                    pos_degree, back_start, back_pos, back_pred, req_start, req_pred, req_count, adj_start, adj_nbr,
                    adj_key, atom_ok, bond_ok, mol_count, max_need, out, root_of):
    """``out[i, j]`` = graph ``graphs[j]`` has ``needs[j]`` unique matches in molecule i.

    A graph is tried only where the molecule has, for each of its predicates ``req_pred``, at least ``req_count``
    atoms satisfying it (``mol_count[molecule, predicate]``), from its root atom ``root_of[graph]``.
    """
    n_atoms = len(adj_start) - 1
    used = np.zeros(n_atoms, np.bool_)
    max_m = 1
    for g in range(len(atom_start) - 1):
        max_m = max(max_m, atom_start[g + 1] - atom_start[g])
    assign = np.zeros(max_m, np.int64)
    cursor = np.zeros(max_m, np.int64)
    found = np.zeros((max(max_need, 1), max_m), np.int64)
    for i in range(len(mol_start) - 1):
        first, last = mol_start[i], mol_start[i + 1]
        for j in range(len(graphs)):
            g = graphs[j]
            if not _possible(g, i, req_start, req_pred, req_count, mol_count):
                continue
            a0 = atom_start[g]
            m = atom_start[g + 1] - a0
            root = root_of[g]
            if _search(plan_start[g] + root * m, m, first, last, -1, needs[j], pos_pred, parent, parent_bond_pred,
                       pos_degree, back_start, back_pos, back_pred, adj_start, adj_nbr, adj_key, atom_ok, bond_ok,
                       used, assign, cursor, found):
                out[i, j] = 1


@njit(cache=True)
def match_anchored(graphs, mol_start, atom_start, plan_start, pos_pred, parent, parent_bond_pred, pos_degree,
                   back_start, back_pos, back_pred, req_start, req_pred, req_count, adj_start, adj_nbr, adj_key,
                   atom_ok, bond_ok, mol_count, out):
    """``out[a, j]`` = graph ``graphs[j]`` matches with its first atom on atom a (a recursive SMARTS)."""
    n_atoms = len(adj_start) - 1
    used = np.zeros(n_atoms, np.bool_)
    max_m = 1
    for g in range(len(atom_start) - 1):
        max_m = max(max_m, atom_start[g + 1] - atom_start[g])
    assign = np.zeros(max_m, np.int64)
    cursor = np.zeros(max_m, np.int64)
    found = np.zeros((1, max_m), np.int64)
    for i in range(len(mol_start) - 1):
        for j in range(len(graphs)):
            g = graphs[j]
            if not _possible(g, i, req_start, req_pred, req_count, mol_count):
                continue
            m = atom_start[g + 1] - atom_start[g]
            p0 = plan_start[g]  # root: atom 0
            root_pred = pos_pred[p0]
            for a in range(mol_start[i], mol_start[i + 1]):
                if atom_ok[a, root_pred] == 0:
                    continue
                if _search(p0, m, mol_start[i], mol_start[i + 1], a, 1, pos_pred, parent, parent_bond_pred,
                           pos_degree, back_start, back_pos, back_pred, adj_start, adj_nbr, adj_key, atom_ok,
                           bond_ok, used, assign, cursor, found):
                    out[a, j] = 1
