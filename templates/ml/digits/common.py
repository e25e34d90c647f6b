"""What train.py, evaluate.py and predict.py share: the held-out split, the model, the device,
the checkpoint's format, and how a job reports a mistake in its inputs."""

import argparse
import json
import math
import os
import re
import sys
from pathlib import Path

# Deterministic cuBLAS needs this before CUDA starts; it changes nothing on a CPU.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from torch import nn  # noqa: E402

CHECKPOINT_FORMAT = "pond/digits-mlp"
CHECKPOINT_VERSION = 1
PIXELS = 64  # 8×8 images
CLASSES = 10
PIXEL_MAX = 16  # load_digits' pixels are counts 0–16
# The held-out split: fixed, whatever the training seed, so every model is judged on the same images.
SPLIT = {"test_size": 0.2, "random_state": 0}


class InputError(Exception):
    """A mistake in what the job was given: reported in one line, exit code 2."""


def run(main):
    try:
        main()
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--inputs", type=Path, default=Path("/inputs"), help="folder of input files")
    parser.add_argument("--outputs", type=Path, default=Path("/outputs"), help="folder for results")
    return parser


def cpu_threads() -> int:
    """The CPUs this container may use (its cgroup's quota, else its affinity): PyTorch's default, the
    host's core count, would oversubscribe a container given one CPU, and the thread count is part of
    what makes a run repeatable (it sets the order of floating-point sums)."""
    available = len(os.sched_getaffinity(0))
    quota = cgroup_cpu_quota()
    return max(1, min(available, math.ceil(quota)) if quota else available)


def cgroup_cpu_quota() -> float | None:
    try:  # cgroup v2
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:  # cgroup v1: a quota of -1 is none
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        return None if quota <= 0 else quota / int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None


def setup_torch(seed: int | None = None) -> torch.device:
    torch.set_num_threads(cpu_threads())
    torch.use_deterministic_algorithms(True)
    if seed is not None:
        torch.manual_seed(seed)
    # Pond gives a job only the GPUs it was assigned; use one if there is one.
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def held_out_split(split: dict = SPLIT):
    """load_digits (1,797 images, shipped with scikit-learn: nothing is downloaded), split stratified."""
    images, labels = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        images.astype(np.float32), labels.astype(np.int64), test_size=split["test_size"], random_state=split["random_state"], stratify=labels
    )
    return (x_train, y_train), (x_test, y_test)


def build_model(architecture: dict) -> nn.Module:
    return nn.Sequential(
        nn.Linear(architecture["inputs"], architecture["hidden"]),
        nn.ReLU(),
        nn.Linear(architecture["hidden"], architecture["classes"]),
    )


def normalise(images: np.ndarray, normalisation: dict, device: torch.device) -> torch.Tensor:
    x = torch.as_tensor(images, dtype=torch.float32, device=device)
    return (x - normalisation["mean"].to(device)) / normalisation["std"].to(device)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Class probabilities, one row per image, in one batch (the same arithmetic however it is called)."""
    model.eval()
    return torch.softmax(model(x), dim=1)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict:
    model.eval()
    logits = model(x)
    predicted = logits.argmax(dim=1)
    correct = int((predicted == y).sum())
    confusion = torch.zeros(CLASSES, CLASSES, dtype=torch.int64)
    for truth, guess in zip(y.tolist(), predicted.tolist()):
        confusion[truth, guess] += 1
    return {
        "accuracy": correct / len(y),
        "correct": correct,
        "total": len(y),
        "loss": float(nn.functional.cross_entropy(logits, y)),
        "confusion_matrix": confusion.tolist(),
    }


def save_checkpoint(path: Path, model: nn.Module, architecture: dict, normalisation: dict, params: dict) -> None:
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            # As JSON text: PyTorch 1.13's weights-only reader refuses pickled floats (a learning rate, a split's size).
            "meta": json.dumps({"architecture": architecture, "split": SPLIT, "params": params}),
            "normalisation": {key: value.cpu() for key, value in normalisation.items()},
            "state_dict": {key: value.cpu() for key, value in model.state_dict().items()},
        },
        path,
    )


def load_checkpoint(path: Path, device: torch.device) -> tuple[nn.Module, dict]:
    """weights_only: a model file from anyone is read as tensors and plain values, never run as pickled code.
    Returns the model and its metadata (architecture, split, params) with its normalisation."""
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # torch raises several kinds for a file that is not a checkpoint
        raise InputError(f"{path.name} is not a PyTorch checkpoint this template can read ({type(error).__name__})") from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{path.name} is not a model written by pond/digits-train (no {CHECKPOINT_FORMAT!r} format mark)")
    if checkpoint.get("version") != CHECKPOINT_VERSION:
        raise InputError(f"{path.name} is version {checkpoint.get('version')} of {CHECKPOINT_FORMAT}; this template reads version {CHECKPOINT_VERSION}")
    meta = json.loads(checkpoint["meta"])
    model = build_model(meta["architecture"]).to(device)
    model.load_state_dict(checkpoint["state_dict"])
    return model, {**meta, "normalisation": checkpoint["normalisation"]}


TRAINING_STATE_FORMAT = "pond/digits-training-state"


def save_training_state(folder: Path, state: dict) -> None:
    """Where training stands (weights, Adam's moments, the batches' generator, the epoch and the loss curve), written
    under a temporary name and renamed into place, so the provider's save (POND_CHECKPOINT_DIR) never takes half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    optimiser = state["optimiser"].state_dict()
    temporary = folder / "training.pt.tmp"
    torch.save(
        {
            "format": TRAINING_STATE_FORMAT,
            "version": CHECKPOINT_VERSION,
            # Plain numbers as JSON text, as in save_checkpoint: PyTorch 1.13's weights-only reader refuses pickled floats.
            "meta": json.dumps({"epoch": state["epoch"], "losses": state["losses"], "params": state["params"], "optimiser_groups": optimiser["param_groups"]}),
            "state_dict": {key: value.cpu() for key, value in state["model"].state_dict().items()},
            "optimiser_state": {index: {key: value.cpu() for key, value in moments.items()} for index, moments in optimiser["state"].items()},
            "generator": state["generator"].get_state(),
        },
        temporary,
    )
    os.replace(temporary, folder / "training.pt")


def load_training_state(folder: Path, params: dict, model: nn.Module, optimiser: torch.optim.Optimizer, generator: torch.Generator) -> tuple[int, list[float]] | None:
    """The epoch and loss curve training resumes from, with the model, optimiser and generator put back; None when
    there is no state to resume. A state from other parameters is an error, not silently a different run.
    weights_only: the file came from the job's previous provider, so it is read as tensors and plain values, never run."""
    path = folder / "training.pt"
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise InputError(f"the checkpoint {path.name} cannot be read ({type(error).__name__}); start the job again without it") from error
    if not isinstance(state, dict) or state.get("format") != TRAINING_STATE_FORMAT or state.get("version") != CHECKPOINT_VERSION:
        raise InputError(f"the checkpoint {path.name} is not a training state of this template (version {CHECKPOINT_VERSION})")
    meta = json.loads(state["meta"])
    if meta["params"] != params:
        raise InputError(f"the checkpoint was saved by a run with {meta['params']}, not {params}")
    model.load_state_dict(state["state_dict"])
    optimiser.load_state_dict({"state": state["optimiser_state"], "param_groups": meta["optimiser_groups"]})
    generator.set_state(state["generator"])
    return meta["epoch"], meta["losses"]


def find_input(folder: Path, suffixes: tuple[str, ...], what: str) -> Path:
    """The one input file with one of these suffixes: a creator sends it with `--input FILE`."""
    found = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes) if folder.is_dir() else []
    if not found:
        raise InputError(f"no {what} ({' or '.join(suffixes)}) in {folder}: send one with --input")
    if len(found) > 1:
        raise InputError(f"more than one {what} in {folder} ({', '.join(str(p.relative_to(folder)) for p in found)}): send one")
    return found[0]


def environment(device: torch.device) -> dict:
    return {
        "torch_version": torch.__version__,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "device": str(device),
        "threads": torch.get_num_threads(),
    }


def report_metrics(step: int, **values: float) -> None:
    """One line Pond reads as the job's metrics at `step` (GET /v1/jobs/{id}/reported-metrics, pond jobs metrics)."""
    print("POND_METRICS " + json.dumps({"step": step, **values}), flush=True)


def write_json(path: Path, value: dict) -> None:
    """Indented, with each list of numbers (a loss curve, a confusion matrix's row) on one line."""
    text = json.dumps(value, indent=2)
    text = re.sub(r"\[\s+([-+\d.eE,\s]+?)\s+\]", lambda m: "[" + ", ".join(n.strip() for n in m.group(1).split(",")) + "]", text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
