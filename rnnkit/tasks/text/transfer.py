r"""Pre-training -> fine-tuning (ULMFiT, Howard & Ruder 2018): a text classifier that starts from a language model.

    >>> lm_run = "runs/lm-fine_food_reviews-..."   # rnnkit train --task lm --data fine_food_reviews --tokenizer bpe
    >>> result = train_text_classifier(TextConfig(data="fine_food_reviews", init_from=lm_run))

The classifier reads text with the LM's tokenizer and keeps the LM's embedding and LSTM stack (copied
exactly); the LM's output layer is dropped for a pooled Dense head:

    texts (B,) -> TextVectorization(tokenizer = the LM's)     ids (B, T), lengths (B,)
               -> Embedding(V, D_e, mask_zero) = the LM's E    (B, T, D_e)
               -> Dropout
               -> LSTM(H) x L = the LM's layers l = 0..L-1     (B, T, H), zero past each length
               -> GlobalConcatPooling1D                        (B, 3H): [h at the last real step, max, mean]
               -> Dropout -> Dense(K, softmax)                 (B, K)

Layer groups, bottom to top: g = 0 the embedding, g = 1..L the LSTM layers, g = L + 1 = n - 1 the head.

- Discriminative learning rates (ULMFiT section 3.2): group g learns at

      lr_g = lr / lr_decay ** (n - 1 - g)            lr_decay = 2.6

  so the head learns at `learning_rate` and each group below at its upper neighbour's rate / 2.6.
- Gradual unfreezing (section 3.3): in epoch e (from 0) the top min(n, 1 + e // unfreeze_every) groups
  train, the others are frozen (requires_grad False: no gradient, no update, no Adam state change);
  the head alone first, then one group more per stage, until every group trains.

Departures from the paper, on purpose: Adam at constant per-group rates (no slanted triangular
schedule; early stopping on the validation loss keeps the best epoch, as for every text run), and
the LM is not fine-tuned again on the target texts first: it was trained on them (`rnnkit train
--task lm --data fine_food_reviews` reads the dataset's training texts only, never its test texts).
The control (`pretrained=False`) is the same model and tokenizer from random weights, every group
training at `learning_rate` from the first epoch.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from rnnkit.data import DataError
from rnnkit.optimizers import Adam
from rnnkit.tasks.text.config import TextConfig
from rnnkit.tasks.text.model import TextModel, build_text_model
from rnnkit.training.callback import Callback, Logs

__all__ = ["GradualUnfreezing", "LayerwiseAdam", "build_transfer_model", "discriminative_rates", "fine_tune",
           "layer_groups", "load_language_model", "transfer_config", "transfer_vectorizer"]

Group = tuple[str, list[torch.nn.Parameter]]      # (name, parameters)

#: TextConfig fields whose value the language model decides, with the value each takes under --init-from
_FROM_LM = ("vocab_size", "embedding_size", "model", "units", "layers", "bidirectional", "pooling")


def load_language_model(init_from: str | Path) -> Any:
    """The LanguageModel of the run folder `init_from` (a finished `rnnkit train --task lm` run).

    Every failure is one `DataError` naming --init-from: no such folder, not a run folder, a run of
    another task, an unfinished run, a model that does not fit its own run.json.
    """
    from rnnkit.tasks.runs import open_run

    path = Path(init_from)
    flag = f"--init-from {str(path)!r}"
    if not path.exists():
        raise DataError(f"{flag}: no such run folder; pass the folder `rnnkit train --task lm` printed "
                        f"(e.g. rnnkit train --task lm --data fine_food_reviews --tokenizer bpe)")
    if not path.is_dir():
        raise DataError(f"{flag} is a file; pass the language-model run folder (holding run.json and model.rnnkit)")
    try:
        run = open_run(path)
        if run.task != "lm":
            raise DataError(f"it holds a {run.task} model, not a language model; pass a run folder trained with "
                            f"`rnnkit train --task lm`")
        import rnnkit.tasks.lm.model  # noqa: F401  (registers LanguageModel, which the model file names)

        model = run.model()
    except DataError as error:
        raise DataError(f"{flag}: {error}") from None
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None or not hasattr(model, "embedding") or not hasattr(model, "lstm"):
        raise DataError(f"{flag}: its model.rnnkit holds a {type(model).__name__} without a tokenizer, embedding and "
                        f"LSTM; train the language model again with `rnnkit train --task lm`")
    if tuple(model.embedding.weight.shape)[0] != tokenizer.vocab_size:
        raise DataError(f"{flag}: the LM's embedding has {model.embedding.weight.shape[0]} rows but its tokenizer "
                        f"{tokenizer.vocab_size} ids; the run folder looks damaged: train the language model again")
    return model


def _lm_sizes(lm: Any) -> dict[str, Any]:
    """The TextConfig values the language model fixes."""
    V, D_e = lm.embedding.weight.shape
    return {"vocab_size": int(V), "embedding_size": int(D_e), "model": "lstm", "units": lm.lstm.hidden_size,
            "layers": lm.lstm.num_layers, "bidirectional": False, "pooling": "concat"}


def transfer_config(config: TextConfig, lm: Any) -> TextConfig:
    """`config` with the sizes of `lm`; a size set to neither its default nor the LM's value is a `DataError`."""
    defaults = {f.name: f.default for f in dataclasses.fields(TextConfig)}
    sizes = _lm_sizes(lm)
    for name in _FROM_LM:
        given = getattr(config, name)
        if given != defaults[name] and given != sizes[name]:
            flag = f"--{name.replace('_', '-')}"
            shown = (flag if given else f"--no-{name}") if isinstance(given, bool) else f"{flag} {given}"
            raise DataError(f"{shown} does not fit --init-from {config.init_from!r}: a classifier fine-tuned from it "
                            f"has {name} = {sizes[name]!r} (the language model's sizes and tokenizer, concat pooling); "
                            f"drop {flag}")
    return dataclasses.replace(config, init_from=str(Path(config.init_from).resolve()), **sizes)


def transfer_vectorizer(lm: Any) -> Any:
    """A TextVectorization around a copy of the LM's tokenizer (pad 0 is the classifier's padding)."""
    from rnnkit.data.text import Tokenizer
    from rnnkit.layers import TextVectorization

    return TextVectorization(tokenizer=Tokenizer.from_dict(lm.tokenizer.to_dict()))


def build_transfer_model(vectorizer: Any, lm: Any, config: TextConfig, num_classes: int) -> TextModel:
    """The classifier of `transfer_config(config, lm)`; with `config.pretrained` its embedding and LSTM
    layers hold exact copies of the LM's (layer l of the LM's stack -> the l-th LSTM layer)."""
    from rnnkit.layers import LSTM, Embedding

    text_model = build_text_model(vectorizer, config, num_classes)
    text_model.core.build((None,))
    if not config.pretrained:
        return text_model
    embedding = next(layer for layer in text_model.core.layers if isinstance(layer, Embedding))
    stack = [layer for layer in text_model.core.layers if isinstance(layer, LSTM)]
    with torch.no_grad():
        embedding.embedding.weight.copy_(lm.embedding.weight)
        for l, layer in enumerate(stack):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(layer.core, f"{name}_l0").copy_(getattr(lm.lstm, f"{name}_l{l}"))
    return text_model


def layer_groups(core: Any) -> list[Group]:
    """[("embedding", ...), ("lstm_1", ...), ..., ("lstm_L", ...), ("head", ...)]: bottom to top; the
    head is every parameter after the last recurrent layer (the Dense)."""
    from rnnkit.layers import Embedding
    from rnnkit.layers.recurrent import RecurrentLayer

    groups: list[Group] = []
    head: list[torch.nn.Parameter] = []
    for layer in core.layers:
        params = list(layer.parameters())
        if isinstance(layer, Embedding):
            groups.append(("embedding", params))
        elif isinstance(layer, RecurrentLayer):
            groups.append((f"lstm_{sum(name.startswith('lstm') for name, _ in groups) + 1}", params))
        else:
            head += params
    return [*groups, ("head", head)]


def discriminative_rates(learning_rate: float, groups: int, lr_decay: float) -> list[float]:
    """lr_g = learning_rate / lr_decay ** (groups - 1 - g), for g = 0 (bottom) .. groups - 1 (the head)."""
    return [learning_rate / lr_decay ** (groups - 1 - g) for g in range(groups)]


class LayerwiseAdam(Adam):
    """Adam with one torch parameter group per layer group, each at its own learning rate.

    `learning_rate` is the head's (the largest) rate; setting it scales every group's rate alike, so a
    schedule keeps the ratios between groups.
    """

    def __init__(self, groups: list[Group], rates: list[float], *, clipnorm: float | None = None) -> None:
        if len(groups) != len(rates) or not rates:
            raise ValueError(f"LayerwiseAdam: one rate per group; got {len(groups)} groups and {len(rates)} rates.")
        super().__init__(max(rates), clipnorm=clipnorm)
        self.groups = groups
        self.ratios = [float(rate) / max(rates) for rate in rates]      # each group's rate / the head's

    @property
    def rates(self) -> list[float]:
        return [self._learning_rate * ratio for ratio in self.ratios]

    def _make(self, params):
        wanted = {id(p) for p in params}
        return torch.optim.Adam(
            [{"params": [p for p in ps if id(p) in wanted], "lr": rate, "name": name}
             for (name, ps), rate in zip(self.groups, self.rates)],
            betas=(self.beta_1, self.beta_2), eps=self.epsilon, amsgrad=self.amsgrad)

    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        Adam.learning_rate.fset(self, value)                              # checks the value
        if self._torch is not None:
            for group, rate in zip(self._torch.param_groups, self.rates):
                group["lr"] = rate

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        if self._torch is not None:      # the base class takes group 0's rate; here the head's is the largest
            rates = [float(group["lr"]) for group in self._torch.param_groups]
            self._learning_rate = max(rates)
            self.ratios = [rate / self._learning_rate for rate in rates]


class GradualUnfreezing(Callback):
    """Before epoch e: the top min(n, 1 + e // every) of the n groups train, the rest are frozen; all train
    again at the end. A function of the epoch alone, so a resumed run freezes what an uninterrupted one does."""

    def __init__(self, groups: list[Group], *, every: int) -> None:
        super().__init__()
        if every < 1:
            raise ValueError(f"GradualUnfreezing: every must be an int >= 1 epoch; got {every!r}.")
        self.groups, self.every = groups, every

    def trainable(self, epoch: int) -> int:
        """How many groups, counted from the top, train in epoch `epoch`."""
        return min(len(self.groups), 1 + epoch // self.every)

    def set_stage(self, epoch: int) -> None:
        first = len(self.groups) - self.trainable(epoch)
        for g, (_, params) in enumerate(self.groups):
            for p in params:
                p.requires_grad_(g >= first)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self.set_stage(epoch)

    def on_train_end(self, logs: Logs | None = None) -> None:
        for _, params in self.groups:
            for p in params:
                p.requires_grad_(True)


def fine_tune(text_model: TextModel, train: Any, validation: Any, config: TextConfig, *, verbose: int = 0,
              backup_dir: str | Path | None = None) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Train `text_model.core` (an --init-from classifier) on the id batches `train`; returns (history,
    what the schedule was: groups, rates, unfreezing) for metrics.json."""
    from rnnkit.callbacks import BackupAndRestore, EarlyStopping

    groups = layer_groups(text_model.core)
    lr_decay = config.lr_decay if config.pretrained else 1.0
    rates = discriminative_rates(config.learning_rate, len(groups), lr_decay)
    text_model.core.compile(optimizer=LayerwiseAdam(groups, rates, clipnorm=1.0),
                            loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    callbacks: list[Any] = []
    every = config.unfreeze_every if config.pretrained else 0
    if every:
        callbacks.append(GradualUnfreezing(groups, every=every))
    if validation is not None and config.patience > 0:
        callbacks.append(EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True))
    if backup_dir is not None:
        callbacks.append(BackupAndRestore(backup_dir, delete_checkpoint=False))
    history = text_model.core.fit(train, epochs=config.epochs, seed=config.seed, validation_data=validation,
                                  callbacks=callbacks, verbose=verbose)
    schedule = {"init": "language model" if config.pretrained else "random (the control)",
                "groups": {name: rate for (name, _), rate in zip(groups, rates)},
                "unfreeze_every": every, "lr_decay": lr_decay}
    return {k: [float(v) for v in values] for k, values in history.history.items()}, schedule
