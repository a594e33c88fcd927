"""The corpus of bad inputs: every case is one line on stderr, exit code 2, no traceback, and a message that
names the argument (or file, or column) at fault. The API cases raise ValueError / TypeError.

New bad inputs found in the wild belong here, as one more row.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rnnkit.cli import main

SMALL = ["--lookback", "7", "--units", "4", "--epochs", "1"]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("corpus")
    f: dict[str, Path] = {"root": root}

    def write(name: str, text: str) -> None:
        (root / name).write_text(text)
        f[name] = root / name

    rows = "\n".join(f"2020-01-{d:02d},{d},{d % 3}" for d in range(1, 29))
    write("good.csv", "date,y,x\n" + rows + "\n")
    write("header_only.csv", "date,y,x\n")
    write("nan.csv", "date,y,x\n2020-01-01,1,2\n2020-01-02,,3\n" + rows.split("\n", 2)[2] + "\n")
    write("inf.csv", "date,y,x\n2020-01-01,1,inf\n" + rows.split("\n", 1)[1] + "\n")
    write("dupes.csv", "date,y,x\n2020-01-01,1,2\n2020-01-01,2,3\n" + rows.split("\n", 2)[2] + "\n")
    write("eu_dates.csv", "date,y,x\n" + "\n".join(f"{d:02d}/01/2020,{d},{d % 3}" for d in range(13, 29)) + "\n")
    write("fractional.csv", "t,y\n" + "\n".join(f"{0.37 * k:.3f},{k}" for k in range(40)) + "\n")
    write("short.csv", "date,temp_max,temp_min,precipitation,wind\n2020-01-01,1,2,0,3\n2020-01-02,2,3,0,3\n")
    write("notes.txt", "this is not a table\n")
    seq = "\n".join(f"{i},{'ab'[i % 2]},{t},{i * t}" for i in range(12) for t in range(5))
    write("seq.csv", "id,label,t,v\n" + seq + "\n")
    write("one_class.csv", "id,label,v\n" + "\n".join(f"{i},a,{t}" for i in range(8) for t in range(3)) + "\n")
    texts = [f"{'great' if i % 2 else 'stale'} tea number {i}" for i in range(12)]
    scores = ("other", "great")
    write("reviews.csv", "review,score\n" + "\n".join(f"{t},{scores[i % 2]}" for i, t in enumerate(texts)) + "\n")
    write("reviews_empty.csv", "review,score\ngood tea,great\n   ,other\nbad tea,other\n")
    write("reviews_one_class.csv", "review,score\n" + "\n".join(f"{t},great" for t in texts) + "\n")
    write("two.de", "ein hund\nzwei katzen\n")
    write("one.en", "a dog\n")
    write("no_tab.tsv", "no tab here\n")
    f["folder"] = root / "a_folder"
    f["folder"].mkdir()
    runs = root / "runs"
    assert main(["train", "-q", "--out", str(runs), *SMALL]) == 0
    (f["run"],) = [p for p in runs.iterdir() if p.is_dir()]
    write("verse.txt", "great tea and stale tea. " * 40)
    assert main(["train", "-q", "--task", "lm", "--data", str(f["verse.txt"]), "--out", str(root / "lm_runs"),
                 "--units", "4", "--layers", "1", "--embedding-size", "4", "--seq-len", "8", "--batch-size", "2",
                 "--epochs", "1", "--time-budget", "0", "--ngram-order", "0", "--sample-length", "5"]) == 0
    (f["lm_run"],) = [p for p in (root / "lm_runs").iterdir() if p.is_dir()]
    assert main(["train", "-q", "--data", "moving_digits", "--out", str(root / "video_runs"), "--train-clips", "14",
                 "--test-clips", "7", "--frames", "4", "--filters", "2", "--units", "2", "--epochs", "1",
                 "--baseline", "none"]) == 0
    (f["video_run"],) = [p for p in (root / "video_runs").iterdir() if p.is_dir()]
    assert main(["train", "-q", "--task", "track", "--out", str(root / "track_runs"), "--train-clips", "8",
                 "--test-clips", "2", "--frames", "4", "--filters", "2", "--units", "2", "--epochs", "1"]) == 0
    (f["track_run"],) = [p for p in (root / "track_runs").iterdir() if p.is_dir()]
    assert main(["lab", "xor", "-q", "--out", str(root / "lab_runs"), "--length", "6", "--units", "2",
                 "--train-sequences", "10", "--test-sequences", "4", "--epochs", "1"]) == 0
    (f["lab_run"],) = [p for p in (root / "lab_runs").iterdir() if p.is_dir()]
    np.save(root / "clips.npy", np.zeros((2, 4, 32, 32), np.float32))
    np.save(root / "clip_28.npy", np.zeros((4, 28, 28), np.float32))
    np.save(root / "clip_255.npy", np.full((4, 32, 32), 255.0, np.float32))
    f.update(clips=root / "clips.npy", clip_28=root / "clip_28.npy", clip_255=root / "clip_255.npy")
    f["ctc_run"] = untrained_ctc_run(root / "ctc_runs")
    write("digits_words.csv", f"path,text\n{f['clips']},four two\n")
    write("digits_no_text.csv", f"path,digits\n{f['clips']},4 2\n")
    return f


def untrained_ctc_run(out: Path) -> Path:
    """A CTC run folder with an untrained model (no audio read), for the speech commands' bad inputs."""
    from rnnkit.tasks.speech import CTCConfig
    from rnnkit.tasks.speech.ctc import CTCResult, save_ctc_run
    from rnnkit.tasks.speech.model import build_ctc_model

    config = CTCConfig(units=2, layers=1)
    result = CTCResult(config=config, model=build_ctc_model(config, 78), history={"loss": [1.0], "val_loss": [1.0]},
                       metrics={"test": {}}, test_strings=[], transcripts={})
    return save_ctc_run(result, out)


def init_from(files, run, *more: str) -> list[str]:
    return ["train", "--task", "text", "--data", str(files["reviews.csv"]), "--text-column", "review",
            "--label-column", "score", "--epochs", "1", "--init-from", str(run), *more]


def edited_run(files, tmp_path, edit) -> Path:
    run = tmp_path / "run"
    shutil.copytree(files["run"], run)
    edit(run)
    return run


def set_json(run: Path, change) -> None:
    state = json.loads((run / "run.json").read_text())
    change(state)
    (run / "run.json").write_text(json.dumps(state))


# (id, argv builder, what the message must contain)
CASES = [
    ("missing data file", lambda f, t: ["train", "--data", str(f["root"] / "nope.csv"), "--target", "y"], "does not exist"),
    ("data is a folder", lambda f, t: ["train", "--data", str(f["folder"]) + "/x.csv", "--target", "y"], "does not exist"),
    ("folder given as data file", lambda f, t: ["train", "--data", str(f["folder"]), "--target", "y"], "is a folder"),
    ("unreadable suffix", lambda f, t: ["train", "--data", str(f["notes.txt"]), "--target", "y"], "notes.txt"),
    ("no target for a file", lambda f, t: ["train", "--data", str(f["good.csv"])], "--target"),
    ("unknown target", lambda f, t: ["train", "--data", str(f["good.csv"]), "--target", "zz"], "'zz'"),
    ("header only", lambda f, t: ["train", "--data", str(f["header_only.csv"]), "--target", "y"], "has no rows"),
    ("missing value", lambda f, t: ["train", "--data", str(f["nan.csv"]), "--target", "y", "--time-column", "date"],
     "--fill"),
    ("infinite value", lambda f, t: ["train", "--data", str(f["inf.csv"]), "--target", "y", "--features", "x"],
     "infinite value(s) (inf) in 'x' (row index 0"),
    ("repeated timestamps", lambda f, t: ["train", "--data", str(f["dupes.csv"]), "--target", "y", "--time-column",
                                          "date"], "date"),
    ("non-ISO dates without a format", lambda f, t: ["train", "--data", str(f["eu_dates.csv"]), "--target", "y",
                                                     "--time-column", "date"], "--time-format"),
    ("wrong --time-format", lambda f, t: ["train", "--data", str(f["eu_dates.csv"]), "--target", "y",
                                          "--time-column", "date", "--time-format", "%Y-%m-%d"], "--time-format"),
    ("ambiguous numeric time", lambda f, t: ["train", "--data", str(f["fractional.csv"]), "--target", "y",
                                             "--time-column", "t"], "--time-format"),
    ("lookback longer than the series", lambda f, t: ["train", "--data", str(f["good.csv"]), "--target", "y",
                                                      "--lookback", "40"], "--lookback"),
    ("unknown dataset", lambda f, t: ["train", "--data", "no_such_set"], "no_such_set"),
    ("unknown config key", lambda f, t: ["train", "--config", str(write_toml(t, "lookbak = 3\n"))], "'lookbak'"),
    ("config value of the wrong type", lambda f, t: ["train", "--config", str(write_toml(t, 'epochs = "ten"\n'))],
     "epochs"),
    ("config file is a folder", lambda f, t: ["train", "--config", str(f["folder"])], "is a folder"),
    ("option of the other task", lambda f, t: ["train", "--data", "seattle_weather", "--id-column", "x"],
     "--id-column"),
    ("threads below one", lambda f, t: ["datasets", "--threads", "0"], "--threads"),
    ("--out is a file", lambda f, t: ["train", "--out", str(f["good.csv"]), *SMALL], "--out"),
    ("label column also a feature", lambda f, t: ["train", "--task", "classify", "--data", str(f["seq.csv"]),
                                                  "--id-column", "id", "--label-column", "label", "--features",
                                                  "v,label"], "drop 'label' from --features"),
    ("no id column for a sequence file", lambda f, t: ["train", "--task", "classify", "--data", str(f["seq.csv"])],
     "--id-column"),
    ("one class", lambda f, t: ["train", "--task", "classify", "--data", str(f["one_class.csv"]), "--id-column", "id",
                                "--label-column", "label"], "class"),
    ("run folder missing", lambda f, t: ["evaluate", str(f["root"] / "no_run")], "does not exist"),
    ("a file as the run folder", lambda f, t: ["evaluate", str(f["run"] / "config.toml")], "is a file"),
    ("a folder that is not a run", lambda f, t: ["evaluate", str(f["folder"])], "not an rnnkit run folder"),
    ("run of the other task", lambda f, t: ["evaluate", str(f["run"]), "--task", "classify"], "--task"),
    ("predict output is a folder", lambda f, t: ["predict", str(f["run"]), "-o", str(f["folder"])], "--output"),
    ("predict on too short data", lambda f, t: ["predict", str(f["run"]), "--data", str(f["short.csv"]),
                                                "--time-column", "date"], "at least"),
    ("predict data without the model's columns", lambda f, t: ["predict", str(f["run"]), "--data", str(f["good.csv"]),
                                                               "--time-column", "date"], "'temp_max' is not in"),
    ("edited lookback", lambda f, t: ["evaluate", str(edited_run(f, t, lambda r: (r / "config.toml").write_text(
        (r / "config.toml").read_text().replace("lookback = 7", "lookback = 9"))))], "lookback = 9"),
    ("tampered scaler", lambda f, t: ["predict", str(edited_run(f, t, lambda r: set_json(r, lambda s: s["scaler"].update(
        mean=s["scaler"]["mean"][:-1]))))], "scaler 'mean'"),
    ("tampered columns", lambda f, t: ["evaluate", str(edited_run(f, t, lambda r: set_json(
        r, lambda s: s.update(input_columns="temp_max"))))], "'input_columns'"),
    ("run.json not JSON", lambda f, t: ["evaluate", str(edited_run(f, t, lambda r: (r / "run.json").write_text("{")))],
     "not valid JSON"),
    ("damaged model file", lambda f, t: ["evaluate", str(edited_run(f, t, lambda r: (r / "model.rnnkit").write_bytes(
        b"junk")))], "cannot load the model"),
    ("resume with options", lambda f, t: ["train", "--resume", str(f["run"]), "--epochs", "3"], "drop --epochs"),
    ("resume a finished run", lambda f, t: ["train", "--resume", str(f["run"])], "finished already"),
    ("--nnodes without an endpoint", lambda f, t: ["train", "--nnodes", "2"], "--rdzv-endpoint"),
    ("fetch an unknown remote set", lambda f, t: ["datasets", "--fetch", "nope"], "nope"),
    ("missing text column", lambda f, t: ["train", "--task", "text", "--data", str(f["reviews.csv"]), "--text-column",
                                          "body", "--label-column", "score"], "--text-column: column 'body'"),
    ("no text column named", lambda f, t: ["train", "--task", "text", "--data", str(f["reviews.csv"]),
                                           "--label-column", "score"], "--text-column"),
    ("missing label column", lambda f, t: ["train", "--data", str(f["reviews.csv"]), "--text-column", "review",
                                           "--label-column", "stars"], "--label-column: column 'stars'"),
    ("empty texts", lambda f, t: ["train", "--task", "text", "--data", str(f["reviews_empty.csv"]), "--text-column",
                                  "review", "--label-column", "score"], "empty text(s)"),
    ("one class of texts", lambda f, t: ["train", "--task", "text", "--data", str(f["reviews_one_class.csv"]),
                                         "--text-column", "review", "--label-column", "score"], "1 class ('great')"),
    ("--text for a forecast run", lambda f, t: ["predict", str(f["run"]), "--text", "hello"], "--text"),
    ("explain a forecast run with text", lambda f, t: ["explain", str(f["run"]), "--text", "hello"],
     "--text applies to text runs"),
    ("explain a forecast run", lambda f, t: ["explain", str(f["run"])], "reads text, lab and classify runs"),
    ("explain no sequences", lambda f, t: ["explain", str(f["lab_run"]), "--count", "0"], "--count must be >= 1"),
    ("--init-from missing", lambda f, t: init_from(f, f["root"] / "no_lm"), "--init-from"),
    ("--init-from not an LM run", lambda f, t: init_from(f, f["run"]), "not a language model"),
    ("--init-from not a run folder", lambda f, t: init_from(f, f["folder"]), "not an rnnkit run folder"),
    ("--init-from with other sizes", lambda f, t: init_from(f, f["lm_run"], "--units", "9"), "--units 9"),
    ("generate from a forecast run", lambda f, t: ["generate", str(f["run"])], "--task lm"),
    ("translate a missing run", lambda f, t: ["translate", str(f["root"] / "no_run"), "--text", "x"], "does not exist"),
    ("translate with a forecast run", lambda f, t: ["translate", str(f["run"]), "--text", "x"], "--task translate"),
    ("--source without --target", lambda f, t: ["train", "--task", "translate", "--source", str(f["two.de"])],
     "--target FILE"),
    ("misaligned parallel files", lambda f, t: ["train", "--task", "translate", "--source", str(f["two.de"]),
                                                "--target", str(f["one.en"])], "line-aligned"),
    ("parallel TSV without a tab", lambda f, t: ["train", "--task", "translate", "--data", str(f["no_tab.tsv"])],
     "line 1: expected 2 tab-separated columns"),
    ("transcribe with a forecast run", lambda f, t: ["transcribe", str(f["run"]), str(f["two.de"])],
     "transcribe reads speech runs"),
    ("speech data other than fsdd", lambda f, t: ["train", "--task", "speech", "--data", str(f["two.de"])],
     "data must be 'fsdd'"),
    ("unknown test speaker", lambda f, t: ["train", "--task", "ctc", "--test-speaker", "nobody"], "'nobody'"),
    ("global normalisation for isolated digits", lambda f, t: ["train", "--task", "speech", "--normalization", "global"],
     "SpeechConfig.normalization must be one of utterance, speaker"),
    ("speaker normalisation for CTC", lambda f, t: ["train", "--task", "ctc", "--normalization", "speaker"],
     "CTCConfig.normalization must be one of utterance, global"),
    ("next-frame patches that do not tile the frame",
     lambda f, t: ["train", "--task", "video-predict", "--patch-size", "3"], "patch_size must divide size=32"),
    ("an even ConvLSTM kernel", lambda f, t: ["train", "--task", "video-predict", "--kernel-size", "4"],
     "kernel_size must be odd"),
    ("too few input frames to extrapolate", lambda f, t: ["train", "--task", "video-predict", "--input-frames", "0"],
     "input_frames must be >= 2"),
    ("wide branch of 5-grams", lambda f, t: ["train", "--task", "text", "--data", "fine_food_reviews",
                                             "--wide-ngrams", "5"], "wide_ngrams must be 0"),
    ("wide branch on a fine-tuned classifier",
     lambda f, t: ["train", "--task", "text", "--data", "fine_food_reviews", "--wide-ngrams", "2", "--init-from",
                   str(t / "lm_run")], "wide_ngrams applies to a classifier trained from scratch"),
    ("video data other than moving_digits", lambda f, t: ["train", "--task", "video-classify", "--data", "mnist"],
     "data must be 'moving_digits'"),
    ("video frames too small", lambda f, t: ["train", "--data", "moving_digits", "--size", "16"], "size must be in"),
    ("a recurrent cell as a video model", lambda f, t: ["train", "--data", "moving_digits", "--model", "lstm"],
     "VideoClassifyConfig.model must be one of cnn-lstm, convlstm, frame-cnn"),
    ("a video model for a forecast", lambda f, t: ["train", "--model", "convlstm"], "ForecastConfig.model"),
    ("--clip for a forecast run", lambda f, t: ["predict", str(f["run"]), "--clip", str(f["clip_28"])],
     "--clip is for video runs"),
    ("video predict without --clip", lambda f, t: ["predict", str(f["video_run"])], "--clip clip.npy"),
    ("a batch of clips in one .npy", lambda f, t: ["predict", str(f["video_run"]), "--clip", str(f["clips"])],
     "got shape (2, 4, 32, 32)"),
    ("clip frames of another size", lambda f, t: ["predict", str(f["video_run"]), "--clip", str(f["clip_28"])],
     "frames of 32x32 pixels; got 4 frame(s) of 28x28"),
    ("clip values 0-255 as floats", lambda f, t: ["predict", str(f["video_run"]), "--clip", str(f["clip_255"])],
     "float frames must be finite values in [0, 1]"),
    ("clip is not a .npy", lambda f, t: ["predict", str(f["video_run"]), "--clip", str(f["notes.txt"])],
     "expected a .npy array (T, H, W) or a folder of PNG frames"),
    ("clip folder without PNGs", lambda f, t: ["predict", str(f["video_run"]), "--clip", str(f["folder"])],
     "holds no .png frames"),
    ("missing clip", lambda f, t: ["predict", str(f["video_run"]), "--clip", str(t / "gone.npy")], "does not exist"),
    ("an unknown lab problem", lambda f, t: ["lab", "sorting"], "problem must be one of adding"),
    ("two lab problems", lambda f, t: ["lab", "adding", "--problem", "xor"], "disagree; give one of them"),
    ("chrono on a plain RNN", lambda f, t: ["lab", "--model", "rnn", "--chrono"], "chrono initialises the gate biases"),
    ("negative clipnorm in the lab", lambda f, t: ["lab", "--clipnorm", "-1"], "clipnorm must be >= 0"),
    ("negative structural damping", lambda f, t: ["lab", "--optimizer", "hessian_free", "--structural-damping", "-1"],
     "structural_damping must be >= 0"),
    ("an unknown lab optimizer", lambda f, t: ["lab", "--optimizer", "lbfgs"], "hessian_free"),
    ("predict with a lab run", lambda f, t: ["predict", str(f["lab_run"])], "nothing to predict"),
    ("evaluate a lab run on other data", lambda f, t: ["evaluate", str(f["lab_run"]), "--data", "GunPoint"],
     "a lab run is scored on its own generated test sequences"),
    ("tracking frames too small", lambda f, t: ["train", "--task", "track", "--size", "16"], "size must be in 24..256"),
    ("tracking one frame", lambda f, t: ["train", "--task", "track", "--frames", "1"], "frames must be in 2..1000"),
    ("negative reduce-lr patience", lambda f, t: ["train", "--task", "track", "--reduce-lr-patience", "-1"],
     "reduce_lr_patience must be >= 0"),
    ("track predict without --clip", lambda f, t: ["predict", str(f["track_run"])], "give the clip to track with"),
    ("track predict on --data", lambda f, t: ["predict", str(f["track_run"]), "--data", "moving_digits"],
     "a track run boxes clips given with --clip"),
    ("track clip of another size", lambda f, t: ["predict", str(f["track_run"]), "--clip", str(f["clip_28"])],
     "frames of 32x32 pixels; got 4 frame(s) of 28x28"),
    ("track evaluate on other data", lambda f, t: ["evaluate", str(f["track_run"]), "--data", "GunPoint"],
     "a track run is scored on its own generated test clips"),
    ("evaluate a CTC run on a folder", lambda f, t: ["evaluate", str(f["ctc_run"]), "--data", str(f["folder"])],
     "a CTC run is scored on a CSV with columns path and text"),
    ("evaluate a speech run on a text file", lambda f, t: ["evaluate", str(f["ctc_run"]), "--data",
                                                           str(f["notes.txt"])], "expected 'fsdd', a CSV of path,text"),
    ("evaluate a speech run on missing data", lambda f, t: ["evaluate", str(f["ctc_run"]), "--data",
                                                            str(t / "gone.csv")], "does not exist"),
    ("speech CSV without a text column", lambda f, t: ["evaluate", str(f["ctc_run"]), "--data",
                                                       str(f["digits_no_text.csv"])], "no column 'text'"),
    ("speech CSV with words for digits", lambda f, t: ["evaluate", str(f["ctc_run"]), "--data",
                                                       str(f["digits_words.csv"])], "has text 'four two'"),
    ("table options for a speech run", lambda f, t: ["evaluate", str(f["ctc_run"]), "--fill", "ffill"],
     "--fill: not options of a speech run"),
    ("predict with a speech run", lambda f, t: ["predict", str(f["ctc_run"])], "rnnkit transcribe"),
    ("tensorboard folder is a file", lambda f, t: ["train", *SMALL, "--out", str(t), "--tensorboard", str(f["notes.txt"])],
     "--tensorboard: "),
    ("compress a lab run", lambda f, t: ["compress", str(f["lab_run"]), "--prune", "0.5"],
     "compress takes classify runs"),
    ("compress without a method", lambda f, t: ["compress", str(f["lab_run"])], "--prune"),
    ("compress a missing run", lambda f, t: ["compress", str(t / "gone"), "--prune", "0.5"], "gone"),
    ("compress with --int8 and --units", lambda f, t: ["compress", str(f["lab_run"]), "--int8", "--units", "8"],
     "compress takes classify runs"),
    ("export to a file that is not .onnx", lambda f, t: ["export", str(f["lab_run"]), "--onnx", str(f["notes.txt"])],
     "ending in .onnx"),
    ("export a missing run", lambda f, t: ["export", str(t / "gone"), "--onnx", str(t / "m.onnx")], "gone"),
    ("export without --onnx", lambda f, t: ["export", str(f["lab_run"])], "--onnx"),
]


def write_toml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text('task = "forecast"\n' + body)
    return path


@pytest.mark.parametrize("name,argv,needle", CASES, ids=[c[0] for c in CASES])
def test_cli_bad_input_is_one_line_and_exit_2(files, tmp_path, capsys, name, argv, needle):
    args = argv(files, tmp_path)
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    _, err = capsys.readouterr()
    assert code == 2, f"{name}: exit code {code}; stderr: {err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert needle in lines[0], lines[0]


def test_argparse_errors_are_one_line_too(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--model", "transformer"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and "--model" in err


# --- the same kind of mistakes through the Python API: ValueError / TypeError that name the argument -------

def api_cases():
    import torch

    import rnnkit
    from rnnkit.layers import LSTM, Dense
    from rnnkit.models import Sequential

    def model(out=1, activation=None, loss="mse"):
        m = Sequential([LSTM(3, input_shape=(4, 2)), Dense(out, activation=activation)])
        m.compile(optimizer="adam", loss=loss)
        return m

    x = np.zeros((6, 4, 2), np.float32)
    return [
        ("NaN in x", lambda: model().fit(np.full((6, 4, 2), np.nan), np.zeros(6), verbose=0), ValueError, "NaN"),
        ("labels of the wrong count", lambda: model().fit(x, np.zeros(5), verbose=0), ValueError, "expected 6, got 5"),
        ("x without the time axis", lambda: model().fit(np.zeros((6, 4)), np.zeros(6), verbose=0), ValueError, "x"),
        ("strings as x", lambda: model().fit(np.array([["a"] * 2] * 6), np.zeros(6), verbose=0), TypeError, "numbers"),
        ("empty x", lambda: model().fit(np.zeros((0, 4, 2)), np.zeros(0), verbose=0), ValueError, "empty"),
        ("binary crossentropy on labels 1/2", lambda: model(activation="sigmoid", loss="binary_crossentropy").fit(
            x, np.array([1, 2, 1, 2, 1, 2]), verbose=0), ValueError, "y_true"),
        ("class ids out of range", lambda: model(out=2, activation="softmax", loss="sparse_categorical_crossentropy").fit(
            x, np.array([0, 1, 2, 0, 1, 2]), verbose=0), ValueError, "[0, 2)"),
        ("bad batch_size", lambda: model().fit(x, np.zeros(6), batch_size=0, verbose=0), ValueError, "batch_size"),
        ("bad validation_split", lambda: model().fit(x, np.zeros(6), validation_split=1.5, verbose=0), ValueError,
         "validation_split"),
        ("negative sample weights", lambda: model().fit(x, np.zeros(6), sample_weight=-np.ones(6), verbose=0),
         ValueError, "sample_weight"),
        ("core layer on 2-D input", lambda: rnnkit.nn.LSTM(2, 3)(torch.zeros(4, 2)), ValueError, "x[..., None]"),
        ("load a missing file", lambda: rnnkit.load_model("/nonexistent/model.rnnkit"), FileNotFoundError, "no file"),
    ]


@pytest.mark.parametrize("case", api_cases(), ids=lambda c: c[0])
def test_api_bad_input_names_the_argument(case):
    _, call, error, needle = case
    with pytest.raises(error) as info:
        call()
    assert needle in str(info.value)
