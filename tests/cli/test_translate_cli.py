"""`rnnkit train --task translate`, `rnnkit translate`, `rnnkit evaluate` of a translation run and
`rnnkit demo translate` (a tiny config in place of the Multi30k one), through `rnnkit.cli.main`."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from rnnkit.cli import main, translate_commands

NOUNS = {"hund": "dog", "frau": "woman", "kind": "child", "mann": "man", "katze": "cat"}
VERBS = {"läuft": "runs", "springt": "jumps", "schläft": "sleeps", "singt": "sings"}
PAIRS = [(f"Der {n} {v}.", f"The {e} {f}.") for n, e in NOUNS.items() for v, f in VERBS.items()] * 3
SMALL = ["--units", "16", "--embedding-size", "16", "--vocab-size", "300", "--target-vocab-size", "300",
         "--batch-size", "8", "--epochs", "1", "--time-budget", "0", "--max-source-tokens", "30", "--beam-size", "2"]


def lines(path: Path, items: list[str]) -> str:
    path.write_text("\n".join(items) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("translate_cli")
    lines(root / "pairs.tsv", [f"{s}\t{t}" for s, t in PAIRS])
    lines(root / "train.de", [s for s, _ in PAIRS])
    lines(root / "train.en", [t for _, t in PAIRS])
    return root


@pytest.fixture(scope="module")
def run(root) -> Path:
    assert main(["train", "-q", "--task", "translate", "--data", str(root / "pairs.tsv"), "--out", str(root / "runs"),
                 *SMALL]) == 0
    (folder,) = (root / "runs").iterdir()
    return folder


@pytest.fixture(scope="module")
def plain_run(root) -> tuple[Path, str]:
    """A no-attention run from two files, and what training printed."""
    import contextlib
    import io

    out_dir, printed = root / "files_runs", io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["train", "--task", "translate", "--source", str(root / "train.de"), "--target",
                     str(root / "train.en"), "--attention", "none", "--out", str(out_dir), *SMALL]) == 0
    (folder,) = out_dir.iterdir()
    return folder, printed.getvalue()


def test_train_writes_a_run_folder_and_prints_the_scores(plain_run):
    folder, out = plain_run
    assert "model, beam 2" in out and "word-by-word" in out and "copy the source" in out
    assert "sacreBLEU nrefs:1|case:mixed|eff:no|tok:13a" in out and "no attention" in out
    assert {"model.rnnkit", "metrics.json", "examples.txt", "test_beam.txt", "config.toml"} <= {p.name for p in folder.iterdir()}
    assert 'task = "translate"' in (folder / "config.toml").read_text()


def test_translate_text_and_a_file_with_an_empty_line(run, root, capsys):
    assert main(["translate", str(run), "--text", "Der hund läuft.", "--text", "Die katze singt.", "-q"]) == 0
    assert len(capsys.readouterr().out.strip("\n").split("\n")) == 2
    source = lines(root / "in.de", ["Der hund läuft.", "", "Der mann singt."])
    assert main(["translate", str(run), "--data", source, "-o", str(root / "out.en"), "--beam", "1"]) == 0
    assert "greedy" in capsys.readouterr().out
    written = (root / "out.en").read_text(encoding="utf-8").split("\n")
    assert len(written) == 4 and written[1] == "" and written[3] == ""      # 3 lines and the final newline


def test_translate_plots_the_attention(run, tmp_path, capsys):
    assert main(["translate", str(run), "--text", "Der hund läuft.", "--plot-attention", str(tmp_path / "a.png")]) == 0
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert "attention heatmap" in capsys.readouterr().out


def test_evaluate_scores_the_test_split_beside_the_baselines(run, capsys):
    assert main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    assert "model, greedy" in out and "word-by-word" in out and "sacreBLEU" in out


@pytest.mark.parametrize("argv,needle", [
    (["--data", "missing.de"], "--data 'missing.de' does not exist"),
    ([], "pass --text"),
    (["--text", "a", "--data", "b"], "--text and --data"),
    (["--text", "a", "--beam", "0"], "--beam must be"),
    (["--text", "a", "--text", "b", "--plot-attention", "x.png"], "exactly one --text"),
    (["--text", "Der hund " * 40], "--text: translate: line 1 is"),
    (["--text", "a", "--length-penalty", "-1"], "--length-penalty"),
])
def test_bad_translate_inputs_are_one_line_errors(run, capsys, argv, needle):
    assert main(["translate", str(run), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


def test_bad_training_inputs_are_one_line_errors_naming_the_argument(root, tmp_path, capsys):
    short = lines(tmp_path / "short.en", ["The dog runs."])
    cases = [
        (["--source", str(tmp_path / "nope.de"), "--target", short], "--source"),
        (["--source", str(root / "train.de"), "--target", short], "has 60 lines but --target"),
        (["--source", str(root / "train.de")], "pass both --source FILE and --target FILE"),
        (["--data", lines(tmp_path / "bad.tsv", ["one column only"] * 30)], "expected 2 tab-separated columns"),
        (["--data", "no_such_corpus"], "--data 'no_such_corpus'"),
    ]
    for argv, needle in cases:
        assert main(["train", "--task", "translate", "--out", str(tmp_path / "runs"), *argv, *SMALL]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], (argv, err)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())   # no folder left behind


def test_predict_points_a_translation_run_to_translate(run, capsys):
    assert main(["predict", str(run)]) == 2
    assert "rnnkit translate" in capsys.readouterr().err


def test_plot_attention_without_attention_says_so(plain_run, capsys, tmp_path):
    folder, _ = plain_run
    assert main(["translate", str(folder), "--text", "Der hund läuft.", "--plot-attention", str(tmp_path / "a.png")]) == 2
    assert "has no attention" in capsys.readouterr().err


def test_demo_translate_trains_and_prints_bleu_and_three_translations(root, tmp_path, monkeypatch, capsys):
    tiny = dataclasses.replace(translate_commands.DEMO_TRANSLATE_CONFIG, data=str(root / "pairs.tsv"), units=16,
                               embedding_size=16, vocab_size=300, target_vocab_size=300, epochs=1, time_budget=0)
    monkeypatch.setattr(translate_commands, "DEMO_TRANSLATE_CONFIG", tiny)
    args = argparse.Namespace(out=str(tmp_path / "runs"), seed=None, quiet=False, threads=1, which="translate")
    assert translate_commands.demo_translate(args) == 0
    out = capsys.readouterr().out
    assert "model, beam 5" in out and "sacreBLEU" in out and "demo done" in out
    assert out.count("  beam:      ") == 3
