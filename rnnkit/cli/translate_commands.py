"""The translation side of the `rnnkit` command: `train --task translate`, `evaluate` of a translation run,
`translate`, and `demo translate`. Parsing and printing only; the work is in ``rnnkit.tasks.translate``."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

from rnnkit.data import DataError
from rnnkit.tasks.translate.config import TranslateConfig

__all__ = ["DEMO_TRANSLATE_CONFIG", "add_translate_parser", "demo_translate", "evaluate_translate", "score_table",
           "train_translate", "translate"]

#: the demo: Multi30k De->En, 3 minutes of training (BPE, test decoding and baselines keep it under 5)
DEMO_TRANSLATE_CONFIG = TranslateConfig(data="multi30k", time_budget=3.0, beam_size=5)

_NAMES = {"beam": "model, beam {k}", "greedy": "model, greedy", "word_by_word": "word-by-word (Dice lexicon)",
          "copy": "copy the source"}


def _say(args: argparse.Namespace, text: str = "") -> None:
    if not getattr(args, "quiet", False):
        print(text, flush=True)


def score_table(scores: dict[str, Any], *, beam_size: int) -> str:
    """BLEU / chrF of the model (beam and greedy) and the baselines, and decoding speed where measured."""
    rows = [f"{'method':<30}{'BLEU':>7}{'chrF':>7}{'sent/s':>9}"]
    for key in ("beam", "greedy", "word_by_word", "copy"):
        if key in scores:
            s, speed = scores[key], scores[key].get("sentences_per_second")
            rows.append(f"{_NAMES[key].format(k=beam_size):<30}{s['bleu']:>7.2f}{s['chrf']:>7.2f}"
                        f"{'' if speed is None else f'{speed:>9.1f}'}")
    first = next(iter(scores.values()))
    rows.append(f"sacreBLEU {first['bleu_signature']}")
    rows.append(f"chrF      {first['chrf_signature']}")
    return "\n".join(rows)


def _architecture(config: TranslateConfig) -> str:
    encoder = f"{'bidirectional ' if config.bidirectional else ''}{config.cell.upper()} {config.units}"
    attention = {"none": "no attention", "bahdanau": "Bahdanau attention", "dot": "Luong dot attention",
                 "general": "Luong general attention"}[config.attention]
    return f"{encoder} encoder, {config.cell.upper()} {config.units} decoder, {attention}"


def train_translate(config: TranslateConfig, args: argparse.Namespace, folder: Path) -> None:
    """`rnnkit train --task translate`: train into the started run folder and print the scores."""
    from rnnkit.cli.commands import _verbose
    from rnnkit.tasks.translate.pipeline import train_translate as train
    from rnnkit.tasks.translate.run import save_translate_run
    from rnnkit.training.distributed import is_rank_zero

    result = train(config, verbose=_verbose(args), backup_dir=folder)
    if is_rank_zero():
        save_translate_run(result, folder=folder)
    m = result.metrics
    _say(args, f"\n{result.pairs.name} {'->'.join(result.pairs.languages)}: {_architecture(config)}, "
               f"{m['parameters']:,} parameters; BPE {config.vocab} ({m['source_vocab_size']} / {m['target_vocab_size']} ids)")
    _say(args, f"pairs: {m['pairs']['train']:,} train ({m['train_pairs_used']:,} used; {m['length_filter']}), "
               f"{m['pairs']['val']:,} validation, {m['pairs']['test']:,} test")
    _say(args, f"trained {m['training_seconds'] / 60:.1f} min: {m['steps']:,} steps in {m['epochs_run']} epoch(s), "
               f"{m['target_tokens_per_second_training']:,} target tokens/s; stopped: {m['stop_reason']}; "
               + (f"weights of epoch {m['best_epoch']} kept (validation {config.select_by})" if m["best_epoch"]
                  else "no epoch finished: the last weights kept"))
    _say(args, f"\ntest ({m['pairs']['test']:,} sentences):")
    print(score_table(m["test"], beam_size=config.beam_size))
    _say(args)
    for e in result.examples:
        _say(args, f"  source:    {e['source']}\n  reference: {e['reference']}\n  beam:      {e['beam']}\n")
    _say(args, f"run folder: {folder}  (model.rnnkit, metrics.json, examples.txt, test_beam.txt, config.toml)")
    _say(args, f"translate:  rnnkit translate {folder} --text \"Ein Hund läuft durch den Schnee.\"")


def evaluate_translate(args: argparse.Namespace, run: Any) -> int:
    """`rnnkit evaluate RUN [--data pairs.tsv]`: beam and greedy scores on the run's test split or a TSV."""
    from rnnkit.tasks.translate.data import load_pairs
    from rnnkit.tasks.translate.metrics import baseline_scores
    from rnnkit.tasks.translate.pipeline import decode_options, score_split
    from rnnkit.tasks.translate.run import load_translation_model

    if getattr(args, "output", None):
        raise DataError("--output writes a CSV of predictions; for translations use `rnnkit translate RUN --data "
                        "FILE -o OUT`")
    config, model = run.config, load_translation_model(run)
    own = load_pairs(config)
    if args.data is None:
        sources, references, where = *own.splits["test"], f"the test split of {own.name}"
    else:
        pairs = load_pairs(dataclasses.replace(config, data=args.data, source="", target=""))
        sources = sum((pairs.splits[s][0] for s in ("train", "test", "val")), [])
        references = sum((pairs.splits[s][1] for s in ("train", "test", "val")), [])
        where = args.data
    scores = {"beam": score_split(model, sources, references, **decode_options(config))[0],
              "greedy": score_split(model, sources, references, **decode_options(config, beam_size=1))[0],
              **baseline_scores(*own.splits["train"], sources, references)}
    _say(args, f"{run.path}: {_architecture(config)}; scored on {where} ({len(sources):,} sentences)\n")
    print(score_table(scores, beam_size=config.beam_size))
    return 0


def add_translate_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The `translate` subcommand."""
    command = sub.add_parser("translate", parents=[common], help="translate text with a translation run",
                             description="Translate with a trained encoder-decoder (`rnnkit train --task translate`): "
                             "beam search (the run's beam size by default) or --beam 1 for greedy.")
    command.add_argument("run", help="a run folder written by `rnnkit train --task translate` or `rnnkit demo translate`")
    command.add_argument("--text", action="append", default=None, metavar="TEXT",
                         help="a sentence to translate (repeat for several)")
    command.add_argument("--data", default=None, metavar="FILE", help="a UTF-8 file of source sentences, one per "
                         "line (an empty line gives an empty line)")
    command.add_argument("--output", "-o", default=None, metavar="FILE", help="write the translations here, one per "
                         "line (default: print them)")
    command.add_argument("--beam", type=int, default=None, metavar="N", help="beam size (default: the run's; 1: greedy)")
    command.add_argument("--length-penalty", dest="length_penalty", type=float, default=None, metavar="ALPHA",
                         help="GNMT length penalty alpha of the beam (default: the run's)")
    command.add_argument("--plot-attention", dest="plot_attention", default=None, metavar="PNG",
                         help="with one --text: draw the attention weights over the source as a heatmap PNG")
    command.set_defaults(handler=translate)


def _check_options(args: argparse.Namespace) -> None:
    if args.text is None and args.data is None:
        raise DataError("pass --text \"SENTENCE\" (repeatable) or --data FILE (one sentence per line)")
    if args.text is not None and args.data is not None:
        raise DataError("--text and --data both give sentences; pass one of them")
    if args.beam is not None and args.beam < 1:
        raise DataError(f"--beam must be an int >= 1 (1: greedy); got {args.beam}")
    if args.length_penalty is not None and not args.length_penalty >= 0:
        raise DataError(f"--length-penalty must be >= 0 (0: raw log-probabilities); got {args.length_penalty}")
    if args.plot_attention is not None and (args.text is None or len(args.text) != 1):
        raise DataError("--plot-attention draws one sentence: pass exactly one --text \"SENTENCE\"")
    if args.output is not None and Path(args.output).is_dir():
        raise DataError(f"--output {args.output!r} is a folder; expected a file path, e.g. "
                        f"{str(Path(args.output) / 'translations.txt')!r}")


def translate(args: argparse.Namespace) -> int:
    from rnnkit.tasks.runs import open_run
    from rnnkit.tasks.translate.data import read_lines
    from rnnkit.tasks.translate.pipeline import decode_options
    from rnnkit.tasks.translate.run import load_translation_model

    _check_options(args)
    run = open_run(args.run, task="translate")
    model, config = load_translation_model(run), run.config
    sources = list(args.text) if args.text is not None else read_lines(args.data, "--data")
    options = decode_options(config, beam_size=args.beam)
    if args.length_penalty is not None:
        options["length_penalty"] = args.length_penalty
    began = time.perf_counter()
    try:
        outputs = model.translate(sources, **options)
    except ValueError as error:        # a source over max_source_tokens: the message names its line
        raise DataError(f"{'--data ' + repr(args.data) if args.data else '--text'}: {error}") from None
    seconds = time.perf_counter() - began
    if args.output is not None:
        from rnnkit.saving._atomic import atomic_write

        text = "\n".join(outputs) + "\n"
        try:
            atomic_write(Path(args.output), lambda temp: Path(temp).write_text(text, encoding="utf-8"))
        except OSError as error:
            raise DataError(f"--output {args.output!r}: cannot write there ({error.strerror or error})") from None
        _say(args, f"{len(outputs):,} translation(s) written to {args.output}")
    else:
        for line in outputs:
            print(line, flush=True)
    beam = options["beam_size"]
    _say(args, f"[{len(sources):,} sentence(s), {'greedy' if beam == 1 else f'beam {beam}'}: {seconds:.2f} s, "
               f"{len(sources) / max(seconds, 1e-9):,.1f} sentences/s]")
    if args.plot_attention is not None:
        from rnnkit.tasks.translate.plots import plot_attention

        written = plot_attention(model, sources[0], Path(args.plot_attention), **options)
        _say(args, f"attention heatmap: {written}")
    return 0


def demo_translate(args: argparse.Namespace) -> int:
    """`rnnkit demo translate`: Multi30k De->En with attention in under 5 minutes, beside the baselines."""
    from rnnkit.cli.commands import _run_training
    from rnnkit.tasks.runs import start_run

    _say(args, f"rnnkit demo translate: a bidirectional GRU encoder-decoder with attention learns Multi30k "
               f"German->English\n(29,000 caption pairs) for {DEMO_TRANSLATE_CONFIG.time_budget:g} minutes, then "
               f"translates the 1,000 test captions with beam search,\nscored by sacreBLEU beside a word-by-word "
               f"lexicon and copying the source.\n")
    seed = getattr(args, "seed", None)
    config = DEMO_TRANSLATE_CONFIG if seed is None else dataclasses.replace(DEMO_TRANSLATE_CONFIG, seed=seed)
    start = time.perf_counter()
    _run_training("translate", config, args, start_run(getattr(args, "out", "runs"), task="translate", config=config),
                  resumed=False)
    _say(args, f"demo done in {(time.perf_counter() - start) / 60:.1f} min")
    return 0
