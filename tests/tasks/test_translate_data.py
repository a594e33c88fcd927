"""Translation data: Multi30k through the fetcher, two line-aligned files, a TSV; BPE; the length filter."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from rnnkit.data import DataError
from rnnkit.data.text import EOS_ID
from rnnkit.tasks.translate import TranslateConfig
from rnnkit.tasks.translate.data import PairBatches, build_tokenizers, encode_sources, load_pairs, read_lines
from rnnkit.tasks.translate.pipeline import _filter

MIRROR = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def write(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.mark.skipif(not (MIRROR / "SHA256SUMS").is_file(), reason=f"the shared dataset mirror {MIRROR} is not here")
def test_multi30k_has_its_three_splits(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RNNKIT_DATA_MIRROR", str(MIRROR))
    pairs = load_pairs(TranslateConfig(data="multi30k"))
    assert pairs.languages == ("de", "en")
    assert {k: len(v[0]) for k, v in pairs.splits.items()} == {"train": 29_000, "val": 1_014, "test": 1_000}
    assert all(len(s) == len(t) for s, t in pairs.splits.values())
    assert pairs.splits["test"][1][0] == "A man in an orange hat starring at something."


def test_two_files_and_a_tsv_give_the_same_pairs_split_in_order(tmp_path):
    sources, targets = [f"satz {i}" for i in range(40)], [f"sentence {i}" for i in range(40)]
    config = TranslateConfig(source=write(tmp_path / "a.de", sources), target=write(tmp_path / "a.en", targets),
                             val_fraction=0.1, test_fraction=0.1)
    files = load_pairs(config)
    tsv = load_pairs(TranslateConfig(data=write(tmp_path / "p.tsv", [f"{s}\t{t}" for s, t in zip(sources, targets)]),
                                     val_fraction=0.1, test_fraction=0.1))
    assert files.splits == tsv.splits
    assert files.languages == ("de", "en")
    assert files.splits["train"][0] == sources[:32] and files.splits["test"][0] == sources[32:36]
    assert files.splits["val"][1] == targets[36:]


def test_misaligned_files_name_both_arguments_and_their_line_counts(tmp_path):
    config = TranslateConfig(source=write(tmp_path / "a.de", ["a", "b", "c"]), target=write(tmp_path / "a.en", ["x"]))
    with pytest.raises(DataError, match=r"--source .* has 3 lines but --target .* has 1"):
        load_pairs(config)


@pytest.mark.parametrize("lines,needle", [
    (["eins\tone", "zwei two"], "line 2: expected 2 tab-separated columns"),
    (["a\tb\tc"], "line 1: expected 2"),
])
def test_a_bad_tsv_names_the_line(tmp_path, lines, needle):
    with pytest.raises(DataError, match=needle):
        load_pairs(TranslateConfig(data=write(tmp_path / "p.tsv", lines)))


def test_missing_and_non_utf8_files_name_the_argument(tmp_path):
    with pytest.raises(DataError, match="--source .* does not exist"):
        read_lines(tmp_path / "nope.de", "--source")
    (tmp_path / "latin.de").write_bytes("Straße\n".encode("latin-1"))
    with pytest.raises(DataError, match="--data .* is not UTF-8 text: byte 0xdf on line 1"):
        read_lines(tmp_path / "latin.de", "--data")


def test_too_few_pairs_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="holds 3 sentence pair"):
        load_pairs(TranslateConfig(data=write(tmp_path / "p.tsv", ["a\tb"] * 3)))


def test_joint_bpe_is_one_tokenizer_and_separate_has_two_sizes():
    sources, targets = ["der hund läuft schnell"] * 20, ["the dog runs fast"] * 20
    joint = build_tokenizers(TranslateConfig(vocab="joint", vocab_size=300), sources, targets)
    assert joint[0] is joint[1]
    source, target = build_tokenizers(TranslateConfig(vocab="separate", vocab_size=300, target_vocab_size=280),
                                      sources, targets)
    assert source is not target and target.max_vocab == 280
    ids = encode_sources(source, ["der hund", ""])
    assert ids[0][-1] == EOS_ID and ids[1].tolist() == [EOS_ID]      # an empty source still has its eos


def test_the_length_filter_drops_long_and_empty_pairs_only():
    s = [np.arange(n) for n in (3, 70, 1, 10)]
    t = [np.arange(n) for n in (4, 5, 6, 65)]
    kept_s, kept_t, dropped = _filter(s, t, 64)
    assert dropped == 3 and [len(x) for x in kept_s] == [3] and [len(x) for x in kept_t] == [4]


def test_batches_hold_every_pair_once_with_similar_lengths():
    import torch

    rng = np.random.default_rng(0)
    s = [np.arange(4, 4 + n) for n in rng.integers(2, 30, size=300)]
    t = [np.arange(4, 4 + n) for n in rng.integers(2, 30, size=300)]
    torch.manual_seed(0)
    seen = []
    for batch in PairBatches(s, t, batch_size=8):
        source, lengths = batch.x
        assert source.shape == (len(lengths), int(lengths.max())) and (batch.y[:, 0] >= 4).all()
        assert int(lengths.max()) - int(lengths.min()) <= 2            # sorted by length, jitter < 1
        seen += lengths.tolist()
    assert sorted(seen) == sorted(len(x) for x in s)


def test_config_checks_name_the_field():
    from rnnkit.tasks.config import ConfigError

    for bad, needle in [({"source": "a.de"}, "source and target go together"), ({"vocab_size": 100}, "vocab_size"),
                        ({"attention": "dot"}, "attention = 'dot'"), ({"teacher_forcing": 0.0}, "teacher_forcing")]:
        with pytest.raises(ConfigError, match=needle):
            dataclasses.replace(TranslateConfig(), **bad).check()
