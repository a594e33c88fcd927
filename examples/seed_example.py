"""The seed's §5.2 program in rnnkit: a SimpleRNN learns to label 4 binary sequences.

The seed's TensorFlow imports become rnnkit's, ``tf.random.set_seed`` becomes ``rnnkit.set_seed``,
and ``x`` gets the feature axis the seed's own ``x.shape[2]`` needs (``x[..., None]``: 4 sequences
of 3 steps with 1 feature). Hyperparameters are the seed's: Adam with Keras' default learning rate
0.001, 100 epochs, batch size 1. Run: ``python examples/seed_example.py [loss.png]``.
"""

import sys

import matplotlib

matplotlib.use("Agg")  # write the plot to a file; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import rnnkit  # noqa: E402
from rnnkit.layers import Dense, SimpleRNN  # noqa: E402
from rnnkit.models import Sequential  # noqa: E402
from rnnkit.optimizers import Adam  # noqa: E402


def main(plot_path: str = "seed_loss.png") -> float:
    rnnkit.set_seed(42)
    x = np.array([[0, 1, 0], [1, 0, 1], [0, 0, 1], [1, 1, 0]], dtype=np.float32)[..., None]  # (4, 3, 1)
    y = np.array([1, 0, 1, 0])

    model = Sequential([
        SimpleRNN(units=10, activation="tanh", input_shape=(x.shape[1], x.shape[2])),
        Dense(units=1, activation="sigmoid"),
    ])
    model.compile(optimizer=Adam(), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=100, batch_size=1)

    plt.plot(model.history.history["loss"])
    plt.xlabel("epoch")
    plt.ylabel("loss")
    plt.savefig(plot_path)
    plt.close()

    loss, accuracy = model.evaluate(x, y)
    print(f"loss {loss:.4f}  accuracy {accuracy:.2f}  (plot: {plot_path})")
    return accuracy


if __name__ == "__main__":
    main(*sys.argv[1:2])
