"""The vanishing-gradient lab (issue 15): plain, IRNN, LSTM and GRU layers on the long-range problems of
`rnnkit.data.long_range`, scored beside each problem's trivial baseline, with the gradient that reaches every
step (`rnnkit.diagnostics`) before and after training.

    >>> from rnnkit.tasks.lab import LabConfig, run_lab
    >>> result = run_lab(LabConfig(problem="adding", length=200, model="lstm"))
"""

from rnnkit.tasks.lab.config import LabConfig
from rnnkit.tasks.lab.pipeline import LabResult, run_lab, save_lab_run

__all__ = ["LabConfig", "LabResult", "run_lab", "save_lab_run"]
