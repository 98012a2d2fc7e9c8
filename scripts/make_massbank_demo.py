"""Build ``specvae/data/massbank_demo.msp.gz``: a small, openly licensed MassBank sample for the README's demo.

    python scripts/make_massbank_demo.py [../shared/data/massbank/MassBank_LC-MSMS_positive.msp.gz]

Selection rule (deterministic; see ``specvae/data/SOURCE.md``):

1. records whose ``LICENSE`` is CC BY, CC BY-SA, CC0 or dl-de/by-2-0 (no NC/ND licences);
2. no record of the ``MSBNK-CASMI_2016-`` folder and no structure that answers a CASMI 2016 challenge (so the demo
   can be evaluated on CASMI 2016 without leakage);
3. structures (InChIKey first block from the record's ``INCHIKEY``) ordered by ``blake2b("demo:" + block)``; take
   structures in that order, each with its first ``PER_STRUCTURE`` records in file order, until ``TARGET`` records.

Records are copied verbatim (MSP text as in the source file) and gzip-compressed with a fixed timestamp.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OPEN_LICENCES = {"CC BY", "CC BY-SA", "CC0", "dl-de/by-2-0"}
TARGET = 2000
PER_STRUCTURE = 5


def _field(block: str, key: str) -> str:
    for line in block.split("\n"):
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def main(argv: list[str]) -> int:
    default = next((p / "shared/data/massbank/MassBank_LC-MSMS_positive.msp.gz" for p in REPO.parents
                    if (p / "shared/data/massbank").exists()), None)
    source = Path(argv[0]) if argv else default
    if source is None or not source.exists():
        print("usage: make_massbank_demo.py PATH/MassBank_LC-MSMS_positive.msp.gz", file=sys.stderr)
        return 2
    answers_csv = source.parents[1] / "casmi2016" / "solutions" / "casmi_2016_challenge_test.csv"
    with open(answers_csv, newline="") as fh:
        answers = {row["INCHIKEY"][:14] for row in csv.DictReader(fh)}
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        blocks = [b.strip("\n") for b in fh.read().split("\n\n") if b.strip()]
    by_structure: dict[str, list[str]] = {}
    for block in blocks:
        block14 = _field(block, "INCHIKEY")[:14]
        if (_field(block, "LICENSE") not in OPEN_LICENCES or _field(block, "DB#").startswith("MSBNK-CASMI_2016-")
                or not block14 or block14 in answers):
            continue
        by_structure.setdefault(block14, []).append(block)
    order = sorted(by_structure, key=lambda k: hashlib.blake2b(f"demo:{k}".encode(), digest_size=8).digest())
    chosen: list[str] = []
    n_structures = 0
    for key in order:
        if len(chosen) >= TARGET:
            break
        chosen.extend(by_structure[key][:PER_STRUCTURE])
        n_structures += 1
    chosen = chosen[:TARGET]
    out = REPO / "specvae" / "data" / "massbank_demo.msp.gz"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(("\n\n".join(chosen) + "\n").encode("utf-8"))
    licences: dict[str, int] = {}
    for block in chosen:
        licences[_field(block, "LICENSE")] = licences.get(_field(block, "LICENSE"), 0) + 1
    print(f"{out}: {len(chosen)} records, {n_structures} structures, {out.stat().st_size:,} bytes, "
          f"licences {dict(sorted(licences.items()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
