"""Chemistry: structures and fingerprints.

- :mod:`~specvae.chem.structures`: the one structure parser (SMILES/InChI -> standardised :class:`Structure`, or
  :class:`Unparsed` with a reason code), cached and in worker processes;
- :mod:`~specvae.chem.bits`: what a fingerprint is (spec, interface, packing) and the cross-entropy of predicted bits;
- :mod:`~specvae.chem.fingerprints`: the registry of fingerprints and the one path from structures to packed bits;
  :mod:`~specvae.chem.substructure`: the ``specvae`` fingerprint and its compiled matcher;
- :mod:`~specvae.chem.cache`: the fingerprint (and canonical form) cache; :mod:`~specvae.chem.fingerprint_file`:
  ``specvae fingerprint``.

Importing this package imports none of its modules.
"""
