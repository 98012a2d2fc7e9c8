"""The ``specvae`` substructure fingerprint (CSI:FingerID's substructure families, masked to informative bits) and
the compiled matcher that computes it.

- :mod:`~specvae.chem.substructure.definitions`: the bit pool (every bit of the four families) from the definitions
  shipped in ``specvae/chem/data``;
- :mod:`~specvae.chem.substructure.mask`: which pool bits form the fingerprint, and the rule that chose them;
  :mod:`~specvae.chem.substructure.build` rebuilds it (``specvae fingerprint-mask``);
- :mod:`~specvae.chem.substructure.fingerprinter`: ``specvae`` and ``specvae-pool`` as
  :class:`~specvae.chem.bits.Fingerprinter` objects (registered in :mod:`specvae.chem.fingerprints`);
- :mod:`~specvae.chem.substructure.evaluator`: computes the bits: SMARTS compiled into predicate graphs
  (:mod:`~specvae.chem.substructure.programs`) matched by numba kernels (:mod:`~specvae.chem.substructure.kernels`)
  on flat arrays of a batch of molecules (:mod:`~specvae.chem.substructure.molecule_batch`); rule bits in
  :mod:`~specvae.chem.substructure.rules`;
- :mod:`~specvae.chem.substructure.compare`: agreement with bit strings whose mask is unknown.

Importing this package imports none of its modules; ``docs/fingerprint.md`` explains all of it.
"""
