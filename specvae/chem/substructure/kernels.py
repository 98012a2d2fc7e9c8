"""Compiled (numba) subgraph matching for a batch of molecules: RDKit's substructure semantics, without its overhead.

A query graph matches a molecule when its atoms map injectively onto molecule atoms such that every query atom's
predicate holds on its image and every query bond joins two images by a molecule bond whose predicate holds
(a monomorphism: extra molecule bonds are allowed), exactly as RDKit's VF2 matcher with ``useChirality=False``.
"Unique" matches are distinct *sets* of molecule atoms (RDKit's ``uniquify``); an "at least n" query needs n of them.

The search visits query atoms in a precomputed order (:func:`plan`) in which every atom but a root is bonded to an
earlier one (its *parent*), so candidates for it are the neighbours of its parent's image; bonds to other earlier
atoms (*back bonds*, closing rings) are checked as soon as both ends are placed. Every graph has one order per
choice of root atom; the evaluator picks the root (the atom with the rarest predicate).

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
                            if (bond_a[e] == i and position[bond_b[e]] >= 0) or (
                                    bond_b[e] == i and position[bond_a[e]] >= 0):
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
def count_predicates(atom_ok, mol_start, columns, mol_count):
    """``mol_count[i, c]`` = atoms of molecule i for which predicate c holds, for every c in ``columns``."""
    for i in range(len(mol_start) - 1):
        for c in columns:
            mol_count[i, c] = 0
        for a in range(mol_start[i], mol_start[i + 1]):
            for c in columns:
                mol_count[i, c] += atom_ok[a, c]


@njit(cache=True, inline="always")
def _is_new_set(found, n_found, atoms, m):
    """Whether the sorted atom indices ``atoms[:m]`` are not already a row of ``found[:n_found, :m]``."""
    for f in range(n_found):
        same = True
        for j in range(m):
            if found[f, j] != atoms[j]:
                same = False
                break
        if same:
            return False
    return True


@njit(cache=True, inline="always")
def _search(p0, m, first, last, roots, r0, r1, need, hits, column, plans, graph, atom_ok, bond_ok, used, assign,
            cursor, found):
    """Search the plan at positions ``p0:p0 + m`` in the molecule of atoms ``first:last``.

    The root takes its candidates from ``roots[r0:r1]``; later roots of other components from every atom of the
    molecule; other positions from the neighbours of their parent's image. With ``need`` >= 1: whether there are
    ``need`` unique matches (distinct atom sets). With ``need`` 0: sets ``hits[a, column]`` for every root
    candidate a that starts a match (a recursive SMARTS). ``assign`` holds local atom indices (0..n-1); ``used``,
    ``assign``, ``cursor`` and ``found`` are scratch arrays (``used`` all False on entry and on exit). ``plans``
    holds the plan arrays (see :func:`plan`), ``graph`` the molecule's neighbour lists.
    """
    pos_pred, pos_degree, parent, parent_bond_pred, back_start, back_pos, back_pred = plans
    adj_start, adj_nbr, adj_key = graph
    n = last - first
    n_found = 0
    k = 0
    cursor[0] = r0
    while k >= 0:
        p = p0 + k
        pred = pos_pred[p]
        degree = pos_degree[p]
        up = parent[p]
        if k == 0:
            stop = r1
        elif up < 0:
            stop = n
        else:
            stop = adj_start[first + assign[up] + 1]
        placed = -1
        while cursor[k] < stop:
            c = cursor[k]
            cursor[k] += 1
            if k == 0:
                g = roots[c]
            elif up < 0:
                g = first + c
            else:
                if bond_ok[adj_key[c], parent_bond_pred[p]] == 0:
                    continue
                g = adj_nbr[c]
            if used[g] or atom_ok[g, pred] == 0 or adj_start[g + 1] - adj_start[g] < degree:
                continue
            ok = True
            for x in range(back_start[p], back_start[p + 1]):
                key = _bond_key_between(adj_start, adj_nbr, adj_key, g, first + assign[back_pos[x]])
                if key < 0 or bond_ok[key, back_pred[x]] == 0:
                    ok = False
                    break
            if ok:
                placed = g - first
                break
        if placed < 0:  # no (more) candidates here: back up
            k -= 1
            if k >= 0:
                used[first + assign[k]] = False
            continue
        assign[k] = placed
        if k + 1 < m:
            used[first + placed] = True
            k += 1
            up = parent[p0 + k]
            cursor[k] = 0 if up < 0 else adj_start[first + assign[up]]
            continue
        # a complete match
        if need == 0:  # recursive SMARTS: this root works; go on with the next root candidate
            hits[first + assign[0], column] = 1
            for j in range(k):
                used[first + assign[j]] = False
            k = 0
            continue
        if need == 1:
            for j in range(k):
                used[first + assign[j]] = False
            return True
        atoms = np.sort(assign[:m])
        if _is_new_set(found, n_found, atoms, m):
            found[n_found, :m] = atoms
            n_found += 1
            if n_found >= need:
                for j in range(k):
                    used[first + assign[j]] = False
                return True
    return False


@njit(cache=True, inline="always")
def _possible(g, i, req_start, req_pred, req_count, mol_count):
    for r in range(req_start[g], req_start[g + 1]):
        if mol_count[i, req_pred[r]] < req_count[r]:
            return False
    return True


@njit(cache=True)
def match_molecules(graphs, needs, roots_of, mol_start, atom_start, plan_start, pos_pred, pos_degree, parent,
                    parent_bond_pred, back_start, back_pos, back_pred, req_start, req_pred, req_count, adj_start,
                    adj_nbr, adj_key, atom_ok, bond_ok, mol_count, order, general_start, general, known, out):
    """``out[i, j]`` = graph ``graphs[j]`` has ``needs[j]`` unique matches in molecule i.

    Graphs are decided in the order ``order``. Graph j is false without a search where one of its generalisations
    ``general[general_start[j]:general_start[j + 1]]`` (graphs decided before it, needing one match) is false, or
    where the molecule lacks, for one of its predicates ``req_pred``, ``req_count`` atoms satisfying it
    (``mol_count[molecule, predicate]``); ``known[i, j]`` 1 or 2 is an answer found otherwise (true or false, see
    :func:`cycles`); otherwise the search starts from its atom ``roots_of[j]``.
    """
    plans = (pos_pred, pos_degree, parent, parent_bond_pred, back_start, back_pos, back_pred)
    graph = (adj_start, adj_nbr, adj_key)
    n_atoms = len(adj_start) - 1
    n_predicates = atom_ok.shape[1]
    max_m, max_need = 1, 1
    for g in graphs:
        max_m = max(max_m, atom_start[g + 1] - atom_start[g])
    for need in needs:
        max_need = max(max_need, need)
    used = np.zeros(n_atoms, np.bool_)
    assign = np.zeros(max_m, np.int64)
    cursor = np.zeros(max_m, np.int64)
    found = np.zeros((max_need, max_m), np.int64)
    # root candidates: for each predicate that is some graph's root, the molecule's atoms satisfying it
    is_root = np.zeros(n_predicates, np.bool_)
    for j in range(len(graphs)):
        g = graphs[j]
        is_root[pos_pred[plan_start[g] + roots_of[j] * (atom_start[g + 1] - atom_start[g])]] = True
    root_preds = np.flatnonzero(is_root)
    candidate_start = np.zeros(n_predicates, np.int64)
    candidate_end = np.zeros(n_predicates, np.int64)
    candidates = np.zeros(1024, np.int64)
    failed = np.zeros(len(graphs), np.bool_)
    for i in range(len(mol_start) - 1):
        first, last = mol_start[i], mol_start[i + 1]
        total = 0
        for c in root_preds:
            candidate_start[c] = total
            candidate_end[c] = total
            total += mol_count[i, c]
        if total > len(candidates):
            candidates = np.zeros(2 * total, np.int64)
        for a in range(first, last):
            for c in root_preds:
                if atom_ok[a, c]:
                    candidates[candidate_end[c]] = a
                    candidate_end[c] += 1
        for jj in range(len(order)):
            j = order[jj]
            g = graphs[j]
            failed[j] = True
            skip = False
            for x in range(general_start[j], general_start[j + 1]):
                if failed[general[x]]:
                    skip = True
                    break
            if skip:
                continue
            if known[i, j]:
                if known[i, j] == 1:
                    out[i, j] = 1
                    failed[j] = False
                continue
            if not _possible(g, i, req_start, req_pred, req_count, mol_count):
                continue
            m = atom_start[g + 1] - atom_start[g]
            p0 = plan_start[g] + roots_of[j] * m
            root_pred = pos_pred[p0]
            if _search(p0, m, first, last, candidates, candidate_start[root_pred], candidate_end[root_pred],
                       needs[j], out, j, plans, graph, atom_ok, bond_ok, used, assign, cursor, found):
                out[i, j] = 1
                failed[j] = False


@njit(cache=True)
def match_anchored(graphs, mol_start, atom_start, plan_start, pos_pred, pos_degree, parent, parent_bond_pred,
                   back_start, back_pos, back_pred, req_start, req_pred, req_count, adj_start, adj_nbr, adj_key,
                   atom_ok, bond_ok, mol_count, out):
    """``out[a, j]`` = graph ``graphs[j]`` matches with its first atom on atom a (a recursive SMARTS)."""
    plans = (pos_pred, pos_degree, parent, parent_bond_pred, back_start, back_pos, back_pred)
    graph = (adj_start, adj_nbr, adj_key)
    n_atoms = len(adj_start) - 1
    max_m = 1
    for g in graphs:
        max_m = max(max_m, atom_start[g + 1] - atom_start[g])
    used = np.zeros(n_atoms, np.bool_)
    assign = np.zeros(max_m, np.int64)
    cursor = np.zeros(max_m, np.int64)
    found = np.zeros((1, max_m), np.int64)
    roots = np.zeros(n_atoms, np.int64)
    for i in range(len(mol_start) - 1):
        first, last = mol_start[i], mol_start[i + 1]
        for j in range(len(graphs)):
            g = graphs[j]
            if not _possible(g, i, req_start, req_pred, req_count, mol_count):
                continue
            m = atom_start[g + 1] - atom_start[g]
            p0 = plan_start[g]  # the plan rooted at atom 0
            root_pred = pos_pred[p0]
            n_roots = 0
            for a in range(first, last):
                if atom_ok[a, root_pred]:
                    roots[n_roots] = a
                    n_roots += 1
            _search(p0, m, first, last, roots, 0, n_roots, 0, out, j, plans, graph, atom_ok, bond_ok, used, assign,
                    cursor, found)


@njit(cache=True)
def cycles(mol_start, adj_start, adj_nbr, adj_key, atom_ok, bond_ok, atom_pred, bond_pred, lengths, max_count,
           on_cycle, count):
    """Simple cycles of the given ``lengths`` whose atoms satisfy ``atom_pred`` and bonds ``bond_pred``.

    ``on_cycle[a, k]`` = atom a lies on such a cycle of length ``lengths[k]``; ``count[i, k]`` = distinct atom
    sets of such cycles in molecule i, counted up to ``max_count``. (A query that is one cycle of equal atoms and
    bonds: this enumerates each cycle from its lowest atom instead of searching from every atom.)
    """
    longest = 0
    for k in range(len(lengths)):
        longest = max(longest, lengths[k])
    index = np.full(longest + 1, -1, np.int64)
    for k in range(len(lengths)):
        index[lengths[k]] = k
    path = np.zeros(longest, np.int64)
    cursor = np.zeros(longest, np.int64)
    sets = np.zeros((len(lengths), max(max_count, 1), longest), np.int64)
    n_atoms = len(adj_start) - 1
    on_path = np.zeros(n_atoms, np.bool_)
    for i in range(len(mol_start) - 1):
        for k in range(len(lengths)):
            count[i, k] = 0
        for s in range(mol_start[i], mol_start[i + 1]):
            if atom_ok[s, atom_pred] == 0:
                continue
            path[0] = s
            on_path[s] = True
            cursor[0] = adj_start[s]
            depth = 0  # path[0..depth] placed
            while depth >= 0:
                x = path[depth]
                advanced = False
                while cursor[depth] < adj_start[x + 1]:
                    e = cursor[depth]
                    cursor[depth] += 1
                    if bond_ok[adj_key[e], bond_pred] == 0:
                        continue
                    y = adj_nbr[e]
                    length = depth + 1
                    if y == s:
                        # a cycle s .. x (each found in both directions: keep path[1] < x)
                        if length >= 3 and index[length] >= 0 and path[1] < x:
                            k = index[length]
                            for t in range(length):
                                on_cycle[path[t], k] = 1
                            if count[i, k] < max_count:
                                atoms = np.sort(path[:length])
                                if _is_new_set(sets[k], count[i, k], atoms, length):
                                    sets[k, count[i, k], :length] = atoms
                                    count[i, k] += 1
                        continue
                    if y < s or on_path[y] or length >= longest or atom_ok[y, atom_pred] == 0:
                        continue
                    depth += 1
                    path[depth] = y
                    on_path[y] = True
                    cursor[depth] = adj_start[y]
                    advanced = True
                    break
                if not advanced:
                    on_path[x] = False
                    depth -= 1


@njit(cache=True)
def ring_bonds(ring_start, ring_atom, ring_mol, adj_start, adj_nbr, adj_bond, ring_bond, bad):
    """The bonds of each ring, between consecutive ring atoms (as RDKit derives its bond rings from its atom
    rings). A ring whose consecutive atoms are not bonded marks its molecule in ``bad``."""
    for r in range(len(ring_start) - 1):
        s, t = ring_start[r], ring_start[r + 1]
        for k in range(s, t):
            x = ring_atom[k]
            y = ring_atom[k + 1] if k + 1 < t else ring_atom[s]
            ring_bond[k] = -1
            for e in range(adj_start[x], adj_start[x + 1]):
                if adj_nbr[e] == y:
                    ring_bond[k] = adj_bond[e]
                    break
            if ring_bond[k] < 0:
                bad[ring_mol[r]] = True
                ring_bond[k] = 0
