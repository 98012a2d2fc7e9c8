"""CUB-200-2011 images and captions as MMVAE released them (paper section 4.3; Shi et al. 2019).

MMVAE's ``cub`` folder (manifest ``cub``, ``specvae data list``; ``docs/benchmarks-images.md`` says how to get it)::

    cub/text_trainvalclasses.txt     captions of the 150 train+validation classes: 8,855 images x 10 lines
    cub/text_testclasses.txt         captions of the 50 test classes: 2,933 images x 10 lines
    cub/resnet101_2048/train.ft      2048-d ResNet-101 features of the train images, a torch.save'd float tensor
    cub/resnet101_2048/test.ft       (N x 2048) in image order (MMVAE computes them from cub/train, cub/test)
    cub/oc:3_msl:32/cub.vocab        optional: MMVAE's vocabulary JSON {"w2i": ..., "i2w": ...}

Captions are one lower-case sentence per line, ten consecutive lines per image, in the image order of the feature
files (MMVAE pairs caption ``i`` with image ``i // 10``). MMVAE tokenises with NLTK's ``word_tokenize``; we use
:func:`tokenize` (words, apostrophe suffixes and single punctuation marks), which splits these captions the same
way except for rare contractions. The vocabulary holds ``<exc>`` (0, unknown words), ``<pad>`` (1), ``<eos>`` (2)
and every training word seen more than 3 times, in order of first occurrence: 1590 entries on MMVAE's files. A
caption becomes 32 indices: at most 31 words, ``<eos>``, then ``<pad>``. Feature files may also be ``.npy``.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specvae.errors import InputError

log = logging.getLogger("specvae.datasets")
MAX_LENGTH = 32
MIN_OCCURRENCES = 3
SPECIALS = ("<exc>", "<pad>", "<eos>")
EXC, PAD, EOS = 0, 1, 2
CAPTIONS_PER_IMAGE = 10
TEXT_FILES = {"train": "text_trainvalclasses.txt", "test": "text_testclasses.txt"}
FEATURE_DIR = "resnet101_2048"
CUB_HELP = ("download MMVAE's cub.zip (http://www.robots.ox.ac.uk/~yshi/mmdgm/datasets/cub.zip), unpack it and "
            "extract the ResNet-101 features into cub/resnet101_2048/{train,test}.ft as MMVAE does; see "
            "docs/benchmarks-images.md and `specvae data list` (manifest cub)")
_TOKEN = re.compile(r"'\w+|\w+|[^\w\s]")


def tokenize(line: str) -> list[str]:
    """``"the bird's beak, short."`` -> ``["the", "bird", "'s", "beak", ",", "short", "."]``."""
    return _TOKEN.findall(line.strip().lower())


def read_captions(path: str | Path) -> list[list[str]]:
    """Tokenised captions, one per non-empty line of a CUB caption file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, f"caption file missing; {CUB_HELP}", str(path))
    captions = [tokenize(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not captions:
        raise InputError(f"{path} holds no captions")
    return captions


@dataclass
class Vocabulary:
    """Word <-> index. ``words[i]`` is the word of index ``i``; the first three are ``<exc>``, ``<pad>``, ``<eos>``."""

    words: list[str]

    def __post_init__(self):
        if tuple(self.words[:3]) != SPECIALS:
            raise InputError(f"a CUB vocabulary starts with {', '.join(SPECIALS)}, got {self.words[:3]}")
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(cls, captions: list[list[str]], min_occurrences: int = MIN_OCCURRENCES) -> Vocabulary:
        counts = Counter(w for c in captions for w in c)  # insertion order = order of first occurrence
        return cls([*SPECIALS, *(w for w, n in counts.items() if n > min_occurrences and w not in SPECIALS)])

    @classmethod
    def read(cls, path: str | Path) -> Vocabulary:
        """MMVAE's ``cub.vocab`` JSON (``{"w2i": {word: i}, "i2w": {"i": word}}``)."""
        try:
            i2w = json.loads(Path(path).read_text())["i2w"]
            return cls([i2w[str(i)] for i in range(len(i2w))])
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(f"{path} is not an MMVAE vocabulary file ({exc})") from None

    def to_json(self) -> dict:
        return {"w2i": dict(self.index), "i2w": {str(i): w for i, w in enumerate(self.words)}}

    def encode(self, captions: list[list[str]], length: int = MAX_LENGTH) -> np.ndarray:
        """``(N, length)`` ``int64``: word indices (``<exc>`` if unknown), ``<eos>``, ``<pad>`` up to ``length``."""
        out = np.full((len(captions), length), PAD, dtype=np.int64)
        for row, caption in enumerate(captions):
            ids = [self.index.get(w, EXC) for w in caption[: length - 1]] + [EOS]
            out[row, : len(ids)] = ids
        return out

    def decode(self, tokens) -> str:
        """Words up to the first ``<eos>`` (padding and ``<eos>`` left out)."""
        words = []
        for t in np.asarray(tokens).tolist():
            if t == EOS:
                break
            if t != PAD:
                words.append(self.words[t])
        return " ".join(words)


def read_features(path: str | Path) -> np.ndarray:
    """Image features ``(N, D)`` ``float32`` from MMVAE's ``.ft`` (a torch-saved tensor, loaded with
    ``weights_only=True``: plain tensors only, no code) or a ``.npy`` file."""
    import torch

    path = Path(path)
    if path.suffix == ".npy":
        mat = np.load(path, allow_pickle=False)
    else:
        try:
            mat = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch.load raises many types (UnpicklingError, struct.error, ...)
            raise InputError(f"{path}: not a torch-saved feature tensor ({type(exc).__name__}: {exc})") from None
        if not torch.is_tensor(mat):
            raise InputError(f"{path}: holds a {type(mat).__name__}, expected a tensor of image features")
        mat = mat.float().numpy()
    if mat.ndim != 2:
        raise InputError(f"{path}: features must be a 2-d (images x 2048) matrix, got shape {mat.shape}")
    return np.ascontiguousarray(mat, dtype=np.float32)


def find_cub_root(directory: str | Path) -> Path:
    """``directory`` itself or its ``cub`` subfolder, whichever holds the caption files."""
    directory = Path(directory)
    for root in (directory, directory / "cub"):
        if (root / TEXT_FILES["test"]).is_file():
            return root
    raise FileNotFoundError(2, f"no CUB caption files ({', '.join(TEXT_FILES.values())}) here; {CUB_HELP}",
                            str(directory))


def find_features(root: Path, split: str) -> Path:
    for name in (f"{split}.ft", f"{split}.npy"):
        if (root / FEATURE_DIR / name).is_file():
            return root / FEATURE_DIR / name
    raise FileNotFoundError(2, f"image features {FEATURE_DIR}/{split}.ft (or .npy) missing; {CUB_HELP}",
                            str(root / FEATURE_DIR / f"{split}.ft"))


@dataclass
class CubSplit:
    """One split: ``features`` ``(n_images, 2048)``, ``tokens`` ``(10 n_images, 32)``; caption ``i`` shows image
    ``image_of[i] = i // 10``."""

    features: np.ndarray
    tokens: np.ndarray

    @property
    def image_of(self) -> np.ndarray:
        return np.arange(len(self.tokens)) // CAPTIONS_PER_IMAGE


def load_cub(directory: str | Path) -> tuple[CubSplit, CubSplit, Vocabulary]:
    """``(train, test, vocabulary)`` from MMVAE's CUB folder; counts are checked (10 captions per image)."""
    root = find_cub_root(directory)
    captions = {s: read_captions(root / f) for s, f in TEXT_FILES.items()}
    vocab_file = root / f"oc:{MIN_OCCURRENCES}_msl:{MAX_LENGTH}" / "cub.vocab"
    vocab = Vocabulary.read(vocab_file) if vocab_file.is_file() else Vocabulary.build(captions["train"])
    log.info("CUB vocabulary: %d words (%s)", len(vocab), vocab_file if vocab_file.is_file() else "built")
    splits = []
    for split in ("train", "test"):
        features = read_features(find_features(root, split))
        n_caps = len(captions[split])
        if n_caps != CAPTIONS_PER_IMAGE * len(features):
            raise InputError(f"CUB {split}: {n_caps} captions for {len(features)} images; expected 10 per image "
                             f"({TEXT_FILES[split]} and {FEATURE_DIR}/{split}.ft must come from the same release)")
        splits.append(CubSplit(features, vocab.encode(captions[split])))
    return splits[0], splits[1], vocab


__all__ = ["CubSplit", "Vocabulary", "find_cub_root", "load_cub", "read_captions", "read_features", "tokenize"]
