"""Video: clips of moving digits (`rnnkit.data.video`). Action recognition (`video-classify`: a clip -> its motion,
by a CNN + LSTM or a CNN + ConvLSTM, beside a frame-averaged CNN) and next-frame prediction (`video-predict`,
`predict.py`); saved as run folders whose run.json says what a clip must look like, so
`rnnkit predict RUN --clip clip.npy` needs nothing else.

    >>> from rnnkit.tasks.video import VideoClassifyConfig, train_video_classifier, save_video_classify_run
    >>> result = train_video_classifier(VideoClassifyConfig(model="convlstm"))
    >>> folder = save_video_classify_run(result, "runs")
"""

from rnnkit.tasks.video.classify import VideoClassifyResult, train_video_classifier
from rnnkit.tasks.video.classify_run import ClipLabel, evaluate_video_run, label_clips, save_video_classify_run
from rnnkit.tasks.video.config import VideoClassifyConfig

__all__ = [
    "ClipLabel",
    "VideoClassifyConfig",
    "VideoClassifyResult",
    "evaluate_video_run",
    "label_clips",
    "save_video_classify_run",
    "train_video_classifier",
]
