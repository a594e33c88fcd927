"""Write the manifests of the remote datasets (rnnkit/data/manifests/*.json) from a mirror folder.

    python tools/make_manifest.py                      # reads ../shared/datasets (beside the project root)
    python tools/make_manifest.py --mirror /path/to/mirror

Run once, when a dataset is added or its pinned version changes; the manifests ship as package data and
nothing reads the mirror's SHA256SUMS at run time. Each file's sha256 comes from the mirror's SHA256SUMS
and is checked against the file itself (so a manifest is never written from a corrupt mirror); its size
comes from the file. A manifest holds names, URLs, sizes and checksums only, never the data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What rnnkit knows about each dataset beyond its files. `base_url` + a file's path is its canonical URL;
# `folder` is where the files lie in a mirror and in the cache (<folder>/<path>).
DATASETS = {
    "tiny_shakespeare": {
        "folder": "tinyshakespeare",
        "kind": "text",
        "title": "tiny-shakespeare (char-rnn)",
        "licence": "public domain (Shakespeare's text)",
        "source": "https://github.com/karpathy/char-rnn (commit 6f9487a6)",
        "base_url": "https://raw.githubusercontent.com/karpathy/char-rnn/"
                    "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/",
        "description": "40,000 lines of Shakespeare, 1,115,394 characters, 65 distinct; "
                       "usual split: first 90 % train, last 10 % validation",
        "splits": [],
        "languages": [],
    },
    "multi30k": {
        "folder": "multi30k",
        "kind": "parallel",
        "title": "Multi30k task 1 (raw, gzipped)",
        "licence": "research use (Multi30k and Flickr30k terms)",
        "source": "https://github.com/multi30k/dataset (commit a3d2e0d2)",
        "base_url": "https://raw.githubusercontent.com/multi30k/dataset/"
                    "a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw/",
        "description": "German-English image captions, line-aligned: train 29,000, val 1,014, "
                       "test_2016_flickr 1,000 pairs",
        "splits": ["train", "val", "test_2016_flickr"],
        "languages": ["de", "en"],
    },
    "fsdd": {
        "folder": "fsdd",
        "kind": "audio",
        "title": "Free Spoken Digit Dataset v1.0.10",
        "licence": "CC BY-SA 4.0",
        "source": "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.tar.gz "
                  "(folder recordings/; fetched per file from the tag)",
        "base_url": "https://raw.githubusercontent.com/Jakobovski/free-spoken-digit-dataset/v1.0.10/",
        "description": "3000 mono 8 kHz WAVs {digit}_{speaker}_{take}.wav: 6 speakers x 10 digits x 50 takes; "
                       "usual split: takes 0-4 test, 5-49 train",
        "splits": ["train", "test"],
        "languages": [],
    },
}


def read_sums(mirror: Path) -> dict[str, str]:
    """SHA256SUMS lines `<hex>  ./<folder>/<path>` -> {"<folder>/<path>": hex}."""
    sums = {}
    for line in (mirror / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.strip().removeprefix("./")] = digest.lower()
    return sums


def manifest(name: str, meta: dict, sums: dict[str, str], mirror: Path) -> dict:
    prefix = meta["folder"] + "/"
    files = []
    for relative in sorted(k for k in sums if k.startswith(prefix)):
        path = mirror / relative
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sums[relative]:
            sys.exit(f"{path}: its sha256 does not match SHA256SUMS; fix the mirror before writing manifests")
        files.append({"path": relative[len(prefix):], "size": len(data), "sha256": sums[relative]})
    if not files:
        sys.exit(f"SHA256SUMS in {mirror} lists no file under {prefix}")
    return {"name": name, **meta, "files": files}


def dump(data: dict) -> str:
    """JSON with one field, and one file, per line: readable diffs at a third of fully indented JSON's size."""
    head = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}"
                      for k, v in data.items() if k != "files")
    lines = ",\n".join("    " + json.dumps(f, ensure_ascii=False) for f in data["files"])
    return f'{{\n{head},\n  "files": [\n{lines}\n  ]\n}}\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirror", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--out", type=Path, default=ROOT / "rnnkit" / "data" / "manifests")
    args = parser.parse_args()
    sums = read_sums(args.mirror)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, meta in DATASETS.items():
        data = manifest(name, meta, sums, args.mirror)
        (args.out / f"{name}.json").write_text(dump(data), encoding="utf-8")
        print(f"{name}: {len(data['files'])} files, {sum(f['size'] for f in data['files']):,} bytes")


if __name__ == "__main__":
    main()
