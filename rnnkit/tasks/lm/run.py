"""Save a language-model run to its folder; evaluate it again, on its own split or on another text.

    <run>/model.rnnkit     the LanguageModel, its tokenizer inside (enough to generate: `rnnkit generate <run>`)
    <run>/metrics.json     validation scores of the model, the Kneser-Ney n-gram and the unigram
    <run>/sample.txt       a sample (temperature 0.8) from the kept weights
    <run>/loss.png, training_curve.csv    the loss of every step against time, validation after every epoch
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit.data import DataError
from rnnkit.data.text import UNK_ID
from rnnkit.tasks.lm.data import load_corpus, split_text
from rnnkit.tasks.lm.metrics import baseline_scores, score, stream_nats
from rnnkit.tasks.lm.pipeline import LMResult, scored_chars, encode_split
from rnnkit.tasks.lm.plots import plot_lm_curve
from rnnkit.tasks.runs import RunFolder, finish_run, start_run

__all__ = ["evaluate_lm_run", "load_lm_model", "save_lm_run"]


def save_lm_run(result: LMResult, out: str | Path | None = None, *, folder: Path | None = None) -> Path:
    """Write the run's results into ``folder`` (made by ``start_run`` before training), or a new folder under ``out``."""
    import pandas as pd

    if folder is None:
        if out is None:
            raise TypeError("save_lm_run: pass out= (a folder for run folders) or folder= (a started run)")
        folder = start_run(out, task="lm", config=result.config)
    corpus, tokenizer = result.corpus, result.tokenizer
    state = {"data_source": corpus.source, "tokenizer": tokenizer.kind, "vocab_size": tokenizer.vocab_size,
             "chars": {"train": result.metrics["train_chars"], "val": result.metrics["val_chars"]},
             "sample_prompt": result.sample.prompt}
    finish_run(folder, task="lm", config=result.config, state=state, metrics=result.metrics, model=result.model)
    (folder / "sample.txt").write_text(result.sample.prompt + result.sample.text, encoding="utf-8")
    pd.DataFrame(result.curve, columns=["seconds", "loss"]).to_csv(folder / "training_curve.csv", index=False)
    val = result.metrics["val"]
    unit = "nats per character" if tokenizer.kind == "char" else "nats per token"
    baselines = {name: entry["nats_per_token"] for name, entry in val.items() if name != "model"}
    plot_lm_curve(folder / "loss.png", curve=result.curve, val_points=result.val_points, baselines=baselines,
                  title=f"{corpus.name}: {result.config.layers}x{result.config.units} LSTM, {tokenizer.kind} "
                        f"tokens; validation {val['model']['nats_per_token']:.3f}", unit=unit)
    return folder


def load_lm_model(path: str | Path) -> Any:
    """The LanguageModel of a run folder, or of a model file (``.rnnkit``) given directly."""
    import rnnkit
    import rnnkit.tasks.lm.model  # noqa: F401  (registers LanguageModel, which the file names)
    from rnnkit.tasks.runs import open_run

    path = Path(path)
    if path.is_file():
        try:
            model = rnnkit.load_model(path, compile=False)
        except (OSError, ValueError) as error:
            raise DataError(f"cannot load the model file {str(path)!r}: {str(error).splitlines()[0]}") from None
    else:
        model = open_run(path, task="lm").model()
    if not hasattr(model, "tokenizer") or not hasattr(model, "step"):
        raise DataError(f"{str(path)!r} holds a {type(model).__name__}, not a language model; pass a run folder "
                        f"trained with --task lm")
    return model


def evaluate_lm_run(run: RunFolder, *, data: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """Scores on the run's own validation text, or on all of ``data`` (a text file or dataset), beside the
    baselines trained on the run's training text. Returns (scores by name, notes)."""
    model, config, notes = run.model(), run.config, []
    tokenizer = model.tokenizer
    train_text: str | None = None
    try:
        train_text, own_val = split_text(load_corpus(config.data), val_fraction=config.val_fraction)
    except DataError as error:
        if data is None:
            raise
        notes.append(f"no baselines: the run's training text is not available ({error})")
    if data is None:
        text, where = own_val, f"the last {config.val_fraction:.0%} of {config.data}"
    else:
        text, where = load_corpus(data).text, data
    ids = encode_split(tokenizer, text)
    if len(ids) < 2:
        raise DataError(f"--data {where!r} holds {len(ids)} token(s); a language model needs at least 2 to score")
    unknown = int((ids == UNK_ID).sum())
    if unknown:
        notes.append(f"{unknown} {'character' if tokenizer.kind == 'char' else 'token'}(s) of {where} were never "
                     f"seen in training and count as <unk>")
    chars = scored_chars(tokenizer, text, ids)
    scores = {"model": score(stream_nats(model, ids), tokens=len(ids) - 1, chars=chars)}
    if train_text is not None:
        scores.update(baseline_scores(encode_split(tokenizer, train_text), ids, vocab_size=tokenizer.vocab_size,
                                      order=config.ngram_order, chars=chars))
    notes.insert(0, f"scored on {where}: {len(ids) - 1:,} tokens, {chars:,} characters")
    return scores, notes
