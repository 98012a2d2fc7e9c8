"""``python -m specvae`` runs the command-line interface (also what ``torchrun -m specvae`` starts)."""

from specvae.cli import main

if __name__ == "__main__":
    main()
