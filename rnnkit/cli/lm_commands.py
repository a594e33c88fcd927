"""The language-model side of the `rnnkit` command: `train --task lm`, `evaluate` of an lm run,
`generate`, and `demo lm`. Parsing and printing only; the work is in ``rnnkit.tasks.lm``."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

from rnnkit.data import DataError
from rnnkit.tasks.lm.config import LMConfig

__all__ = ["DEMO_LM_CONFIG", "add_generate_parser", "demo_lm", "evaluate_lm", "generate", "lm_table", "train_lm"]

#: the demo: a character LSTM on tiny-shakespeare, 4 minutes of training (the whole demo stays under 5)
DEMO_LM_CONFIG = LMConfig(data="tiny_shakespeare", time_budget=4.0)

_NAMES = {"model": "LSTM", "unigram": "unigram (add-one)"}


def _say(args: argparse.Namespace, text: str = "") -> None:
    if not getattr(args, "quiet", False):
        print(text, flush=True)


def _name(key: str, config: LMConfig | None = None) -> str:
    if key == "model" and config is not None:
        return f"LSTM {config.layers}x{config.units}"
    if key.startswith("kneser_ney_"):
        return f"Kneser-Ney {key.rsplit('_', 1)[1]}-gram"
    return _NAMES.get(key, key)


def lm_table(scores: dict[str, Any], *, tokenizer: str, config: LMConfig | None = None) -> str:
    """Model and baselines on the same text: nats and bits per character (and per token, perplexity for subwords)."""
    keys = ["model", *sorted((k for k in scores if k.startswith("kneser_ney_"))), *(["unigram"] if "unigram" in scores else [])]
    width = max(20, *(len(_name(k, config)) + 2 for k in keys))
    if tokenizer == "char":
        rows = [f"{'method':<{width}}{'nats/char':>11}{'bits/char':>11}{'perplexity':>12}"]
        rows += [f"{_name(k, config):<{width}}{scores[k]['nats_per_char']:>11.3f}{scores[k]['bits_per_char']:>11.3f}"
                 f"{scores[k]['perplexity']:>12.2f}" for k in keys]
    else:
        rows = [f"{'method':<{width}}{'nats/token':>12}{'perplexity':>12}{'nats/char':>11}{'bits/char':>11}"]
        rows += [f"{_name(k, config):<{width}}{scores[k]['nats_per_token']:>12.3f}{scores[k]['perplexity']:>12.2f}"
                 f"{scores[k]['nats_per_char']:>11.3f}{scores[k]['bits_per_char']:>11.3f}" for k in keys]
    return "\n".join(rows)


def train_lm(config: LMConfig, args: argparse.Namespace, folder: Path) -> None:
    """`rnnkit train --task lm`: train into the started run folder and print the scores and a sample."""
    from rnnkit.cli.commands import _verbose
    from rnnkit.tasks.lm.pipeline import train_lm as train
    from rnnkit.tasks.lm.run import save_lm_run
    from rnnkit.training.distributed import is_rank_zero

    result = train(config, verbose=_verbose(args), backup_dir=folder)
    if is_rank_zero():
        save_lm_run(result, folder=folder)
    m = result.metrics
    unit = "characters" if config.tokenizer == "char" else "tokens"
    _say(args, f"\n{result.corpus.name}: {config.tokenizer} {config.layers}x{config.units} LSTM, "
               f"{m['parameters']:,} parameters, vocabulary {m['vocab_size']}; {m['train_tokens']:,} training / "
               f"{m['val_tokens']:,} validation {unit} (the last {config.val_fraction:.0%})")
    _say(args, f"trained {m['training_seconds'] / 60:.1f} min: {m['steps']:,} steps of {config.batch_size}x"
               f"{config.seq_len} tokens in {m['epochs_run']} epoch(s), {m['tokens_per_second_training']:,} tokens/s; "
               f"stopped: {m['stop_reason']}; weights of epoch {m['best_epoch']} kept")
    _say(args)
    print(lm_table(m["val"], tokenizer=config.tokenizer, config=config))
    _say(args, f"\n{result.sample.method}, {result.sample.tokens_per_second:,.0f} tokens/s:")
    _say(args, result.sample.prompt + result.sample.text)
    _say(args, f"\nrun folder: {folder}  (model.rnnkit, metrics.json, sample.txt, loss.png, config.toml)")
    _say(args, f"generate:   rnnkit generate {folder} --prompt \"ROMEO:\" --length 500 --temperature 0.8")


def evaluate_lm(args: argparse.Namespace, run: Any) -> int:
    """`rnnkit evaluate RUN [--data other.txt]` of a language-model run."""
    from rnnkit.tasks.lm.run import evaluate_lm_run

    if getattr(args, "output", None):
        raise DataError("--output writes a CSV of predictions, which a language model does not make; drop it "
                        "(the scores are printed)")
    scores, notes = evaluate_lm_run(run, data=args.data)
    _say(args, f"{run.path}: {run.config.tokenizer} LSTM {run.config.layers}x{run.config.units}; {notes[0]}")
    for note in notes[1:]:
        _say(args, f"note: {note}")
    _say(args)
    print(lm_table(scores, tokenizer=run.config.tokenizer, config=run.config))
    return 0


def add_generate_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The `generate` subcommand."""
    command = sub.add_parser("generate", parents=[common], help="generate text from a language-model run",
                             description="Continue a prompt with a trained language model (`rnnkit train --task lm`): "
                             "sampling with temperature / top-k / top-p (the default), --greedy, or --beam N.")
    command.add_argument("run", help="a run folder written by `rnnkit train --task lm` (or its model.rnnkit)")
    command.add_argument("--prompt", default=None, help="text to continue (default: a newline); a newline in the "
                         "shell: --prompt $'ROMEO:\\n'")
    command.add_argument("--length", type=int, default=500, help="tokens to generate (characters for a char "
                         "model; default 500)")
    command.add_argument("--temperature", type=float, default=0.8, help="sampling temperature > 0 (default 0.8)")
    group = command.add_mutually_exclusive_group()
    group.add_argument("--top-k", dest="top_k", type=int, default=None, help="sample from the K most probable tokens")
    group.add_argument("--top-p", dest="top_p", type=float, default=None,
                       help="sample from the smallest set of most probable tokens holding mass P in (0, 1]")
    search = command.add_mutually_exclusive_group()
    search.add_argument("--greedy", action="store_true", help="the most probable token at every step")
    search.add_argument("--beam", type=int, default=None, metavar="N", help="beam search with N beams: the most "
                        "probable continuation of --length tokens it finds")
    command.add_argument("--seed", type=int, default=0, help="random seed of the sampling (default 0): the same "
                         "seed gives the same text")
    command.add_argument("--output", "-o", default=None, help="also write prompt + text to this file")
    command.set_defaults(handler=generate)


def generate(args: argparse.Namespace) -> int:
    from rnnkit.tasks.lm.generate import generate as run_generation
    from rnnkit.tasks.lm.run import load_lm_model

    model = load_lm_model(args.run)
    prompt = args.prompt if args.prompt is not None else _default_prompt(Path(args.run))
    if args.seed < 0:
        raise DataError(f"--seed must be >= 0; got {args.seed}")
    method = "greedy" if args.greedy else "beam" if args.beam is not None else "sample"
    if method != "sample" and (args.top_k is not None or args.top_p is not None):
        raise DataError(f"--top-k / --top-p shape sampling; --{'greedy' if args.greedy else 'beam'} does not sample. "
                        f"Drop one of them")
    out = run_generation(model, prompt, length=args.length, method=method, temperature=args.temperature,
                         top_k=args.top_k, top_p=args.top_p, beam_size=args.beam or 1, seed=args.seed)
    print(out.prompt + out.text, flush=True)
    _say(args, f"\n[{out.tokens} tokens, {out.method}: {out.seconds:.2f} s, {out.tokens_per_second:,.0f} tokens/s "
               f"through the compiled LSTM step; log p = {out.log_prob:.1f}]")
    if args.output:
        _write_text(Path(args.output), out.prompt + out.text)
        _say(args, f"written to {args.output}")
    return 0


def _default_prompt(run: Path) -> str:
    import json

    try:
        return json.loads((run / "run.json").read_text(encoding="utf-8")).get("sample_prompt") or "\n"
    except (OSError, ValueError):
        return "\n"


def _write_text(path: Path, text: str) -> None:
    from rnnkit.saving._atomic import atomic_write

    if path.is_dir():
        raise DataError(f"--output {str(path)!r} is a folder; expected a file path, e.g. {str(path / 'sample.txt')!r}")
    try:
        atomic_write(path, lambda temp: Path(temp).write_text(text, encoding="utf-8"))
    except OSError as error:
        raise DataError(f"--output {str(path)!r}: cannot write there ({error.strerror or error})") from None


def demo_lm(args: argparse.Namespace) -> int:
    """`rnnkit demo lm`: a character LSTM on tiny-shakespeare in under 5 minutes, beside the n-gram baselines."""
    from rnnkit.cli.commands import _run_training
    from rnnkit.tasks.runs import start_run

    _say(args, "rnnkit demo lm: a character-level LSTM learns tiny-shakespeare (1.1 M characters) for "
               f"{DEMO_LM_CONFIG.time_budget:g} minutes,\nscored on the last 10% beside a Kneser-Ney 5-gram and a "
               "unigram, then writes a sample.\n")
    seed = getattr(args, "seed", None)
    config = DEMO_LM_CONFIG if seed is None else dataclasses.replace(DEMO_LM_CONFIG, seed=seed)
    start = time.perf_counter()
    _run_training("lm", config, args, start_run(getattr(args, "out", "runs"), task="lm", config=config), resumed=False)
    _say(args, f"demo done in {(time.perf_counter() - start) / 60:.1f} min")
    return 0
