"""The typed, keyword-only configurations of the speech runs: isolated digits (`speech`) and connected digits
with CTC (`ctc`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rnnkit.data.audio import FeatureConfig
from rnnkit.tasks._config import ConfigError, ModelKind, check_training_ranges

__all__ = ["CTCConfig", "SpeechConfig", "feature_config"]

Pooling = Literal["max", "mean", "concat"]  # the text task's choices (one --pooling option serves both)
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")


def feature_config(config: SpeechConfig | CTCConfig) -> FeatureConfig:
    """The audio front end a run was trained with (also what `transcribe` computes on a new WAV)."""
    return FeatureConfig(kind=config.audio_features, n_mfcc=config.n_mfcc, n_mels=config.n_mels,
                         delta_order=config.delta_order,
                         normalize=config.normalization == "utterance")


def _check_common(config: SpeechConfig | CTCConfig) -> None:
    check_training_ranges(config)
    if config.data != "fsdd":
        raise ConfigError(f"data must be 'fsdd' (the Free Spoken Digit Dataset, fetched by rnnkit); got {config.data!r}")
    if not 0.0 <= config.val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1); got {config.val_fraction}")
    if config.test_speaker is not None and config.test_speaker not in SPEAKERS:
        raise ConfigError(f"test_speaker must be one of {', '.join(SPEAKERS)}; got {config.test_speaker!r}")
    try:
        feature_config(config).check()
    except ValueError as error:
        raise ConfigError(str(error).removeprefix("FeatureConfig: ")) from None


@dataclass(frozen=True, kw_only=True)
class SpeechConfig:
    """Isolated spoken digits: MFCC frames -> [Bi]GRU/LSTM -> pooling over each clip's own frames -> Dense(10).

    split "usual" tests on takes 0-4 of every speaker (FSDD's README); "speaker" tests on every take of
    `test_speaker` and trains on the other five (one fold of leave-one-speaker-out).

    normalization "speaker" normalises the features over all clips of a speaker instead of each clip
    (`data.speaker_normalised`): the training clips per training speaker, the test clips per test speaker
    from that speaker's test clips, unlabelled (unsupervised speaker adaptation; leave-one-speaker-out 0.838
    -> 0.909 in docs/results.md). It needs several recordings of a new speaker: `rnnkit transcribe` normalises
    the files of one call together, as one speaker's.
    """

    data: str = "fsdd"  # speech: the Free Spoken Digit Dataset (fetched; $RNNKIT_DATA_MIRROR is read first)
    split: Literal["usual", "speaker"] = "usual"  # usual: takes 0-4 test; speaker: leave --test-speaker out
    test_speaker: str | None = None  # speech/ctc: the held-out speaker (george, jackson, lucas, nicolas, theo, yweweler)
    val_fraction: float = 0.1  # share of the training clips for early stopping (stratified by digit)
    audio_features: Literal["mfcc", "logmel"] = "mfcc"  # per 25 ms frame every 10 ms, + deltas, normalised per clip
    n_mfcc: int = 13  # cepstral coefficients (mfcc)
    n_mels: int = 26  # mel filters (logmel: the features; mfcc: what the DCT reads)
    delta_order: int = 2  # 0: features only, 1: + deltas, 2: + delta-deltas
    normalization: Literal["utterance", "speaker"] = "utterance"  # speech: per clip, or per speaker (a new speaker's recordings together, unlabelled: transcribe several at once); ctc: per utterance, or the training strings' mean/std (streaming)
    augment: bool = True  # SpecAugment time and frequency masks on the training clips, new ones every epoch
    speed_perturb: bool = False  # speech: also train on every training clip played 10 % slower and 10 % faster (tempo and pitch)
    model: ModelKind = "gru"
    units: int = 64
    layers: int = 1
    bidirectional: bool = True
    pooling: Pooling = "mean"  # over each clip's own frames (padding never counts)
    dropout: float = 0.1  # between recurrent layers and before the output layer
    epochs: int = 30  # at most; the weights kept are those of the best validation loss
    batch_size: int = 32
    learning_rate: float = 3e-3  # Adam, gradients clipped to norm 1
    patience: int = 6  # epochs without a better validation loss before stopping (0: no early stopping)
    seed: int = 0

    def check(self) -> None:
        _check_common(self)
        if self.split == "speaker" and self.test_speaker is None:
            raise ConfigError(f"split 'speaker' needs test_speaker (--test-speaker), one of {', '.join(SPEAKERS)}")
        if self.split == "usual" and self.test_speaker is not None:
            raise ConfigError("test_speaker applies to split 'speaker'; add --split speaker or drop --test-speaker")


@dataclass(frozen=True, kw_only=True)
class CTCConfig:
    """Connected digits: strings of FSDD takes of one speaker -> MFCC frames -> [Bi]GRU/LSTM -> Dense(11) -> CTC.

    The strings are generated from `seed` (`rnnkit.tasks.speech.connected`); training strings use takes
    5-49, test strings takes 0-4, so no recording is heard in both. With `test_speaker` the test strings
    are that speaker's only, and the training strings never use them (the unseen-speaker split).
    """

    data: str = "fsdd"  # speech: the Free Spoken Digit Dataset (fetched; $RNNKIT_DATA_MIRROR is read first)
    test_speaker: str | None = None  # speech/ctc: the held-out speaker (george, jackson, lucas, nicolas, theo, yweweler)
    train_strings: int = 3000  # ctc: generated training utterances
    test_strings: int = 300  # ctc: generated test utterances
    min_digits: int = 2  # ctc: digits per string, at least
    max_digits: int = 7  # ctc: digits per string, at most
    val_fraction: float = 0.1  # share of the training strings for early stopping
    audio_features: Literal["mfcc", "logmel"] = "mfcc"  # per 25 ms frame every 10 ms, + deltas, normalised per clip
    n_mfcc: int = 13  # cepstral coefficients (mfcc)
    n_mels: int = 26  # mel filters (logmel: the features; mfcc: what the DCT reads)
    delta_order: int = 2  # 0: features only, 1: + deltas, 2: + delta-deltas
    augment: bool = True  # SpecAugment time and frequency masks on the training clips, new ones every epoch
    frame_stack: int = 2  # ctc: consecutive frames read as one step (2: a step every 20 ms)
    normalization: Literal["utterance", "global"] = "utterance"  # ctc: per-utterance CMVN, or the training strings' mean/std (causal: what streaming needs)
    model: ModelKind = "gru"
    units: int = 96
    layers: int = 2
    bidirectional: bool = True
    dropout: float = 0.1  # between recurrent layers and before the output layer
    epochs: int = 30  # at most; the weights kept are those of the best validation loss
    time_budget: float = 0.0  # minutes of training (validation included); 0: no limit, --epochs decides
    batch_size: int = 32
    learning_rate: float = 3e-3  # Adam, gradients clipped to norm 1
    patience: int = 6  # epochs without a better validation loss before stopping (0: no early stopping)
    beam_size: int = 8  # ctc: prefix beam search width when transcribing (1: greedy)
    seed: int = 0

    def check(self) -> None:
        _check_common(self)
        if not 1 <= self.min_digits <= self.max_digits:
            raise ConfigError(f"min_digits and max_digits must satisfy 1 <= min_digits <= max_digits; got "
                              f"{self.min_digits} and {self.max_digits}")
        if self.time_budget < 0:
            raise ConfigError(f"time_budget must be >= 0 minutes (0: no limit); got {self.time_budget}")
        for name in ("train_strings", "test_strings", "beam_size", "frame_stack"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1; got {getattr(self, name)}")
