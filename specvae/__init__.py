"""specvae: annotate tandem mass spectra with molecular structures using product-of-experts multimodal VAEs.

The package follows the data flow

    ingest (MSP/MGF/mzML/JSON -> Parquet) -> chem (2149-bit fingerprints) -> datasets -> models
    -> train -> rank -> evaluate -> bench (image benchmarks)

Importing :mod:`specvae` is cheap: torch, RDKit and matchms are imported only by the modules that need them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
