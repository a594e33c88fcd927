"""Speech: spoken digits from the Free Spoken Digit Dataset, one digit a clip (`speech`) or connected digit
strings transcribed with CTC (`ctc`); saved as run folders whose model reads feature frames and whose
run.json holds the audio front end, so `rnnkit transcribe RUN file.wav` needs nothing else.

    >>> from rnnkit.tasks.speech import SpeechConfig, train_digit_classifier, save_speech_run
    >>> result = train_digit_classifier(SpeechConfig())
    >>> folder = save_speech_run(result, "runs")
"""

from rnnkit.tasks.speech.config import CTCConfig, SpeechConfig, feature_config
from rnnkit.tasks.speech.pipeline import SpeechResult, train_digit_classifier
from rnnkit.tasks.speech.run import Transcript, save_speech_run, transcribe_run

__all__ = [
    "CTCConfig",
    "SpeechConfig",
    "SpeechResult",
    "Transcript",
    "feature_config",
    "save_speech_run",
    "train_digit_classifier",
    "transcribe_run",
]
