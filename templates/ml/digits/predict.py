"""pond/digits-predict: labels 8×8 digit images with a model from pond/digits-train.

Reads the one .pt file and the one image file among the inputs: a .csv of 64 pixel values a row
(0–16, as scikit-learn's digits; a first line of names is skipped, and a column named "label" is
taken as the true label) or a .npy array of shape (n, 64) or (n, 8, 8). Writes predictions.csv
(row, label, probability) and metrics.json (how many, and the accuracy where true labels came)."""

import csv
from pathlib import Path

import numpy as np
import torch

from common import PIXEL_MAX, PIXELS, InputError, arguments, environment, find_input, load_checkpoint, normalise, predict, run, setup_torch, write_json


def read_images(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    if path.suffix.lower() == ".npy":
        try:
            images = np.load(path, allow_pickle=False)
        except ValueError as error:
            raise InputError(f"{path.name} is not a plain .npy array ({error})") from error
        return images.reshape(len(images), -1) if images.ndim == 3 else images, None
    with path.open(newline="") as file:
        rows = [row for row in csv.reader(file) if row]
    if not rows:
        raise InputError(f"{path.name} is empty")
    header = None
    try:
        [float(cell) for cell in rows[0]]
    except ValueError:
        header, rows = [cell.strip().lower() for cell in rows[0]], rows[1:]
    label_column = header.index("label") if header and "label" in header else None
    try:
        table = np.array([[float(cell) for cell in row] for row in rows], dtype=np.float32)
    except ValueError as error:
        raise InputError(f"{path.name}: every row must be numbers ({error})") from error
    if label_column is None:
        return table, None
    return np.delete(table, label_column, axis=1), table[:, label_column].astype(np.int64)


def main() -> None:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    device = setup_torch()
    model, checkpoint = load_checkpoint(find_input(args.inputs, (".pt", ".pth"), "model file"), device)
    source = find_input(args.inputs, (".csv", ".npy"), "image file")
    images, labels = read_images(source)
    if images.ndim != 2 or images.shape[1] != PIXELS or len(images) == 0:
        raise InputError(f"{source.name} holds an array of shape {images.shape}; it must be one row of {PIXELS} pixels (8×8) per image")
    if not np.isfinite(images).all() or images.min() < 0 or images.max() > PIXEL_MAX:
        raise InputError(f"{source.name}: pixels must be numbers from 0 to {PIXEL_MAX}, as scikit-learn's digits are")
    probabilities = predict(model, normalise(images, checkpoint["normalisation"], device)).cpu()
    confidence, predicted = probabilities.max(dim=1)
    args.outputs.mkdir(parents=True, exist_ok=True)
    with (args.outputs / "predictions.csv").open("w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["row", "label", "probability"])
        for row, (label, p) in enumerate(zip(predicted.tolist(), confidence.tolist())):
            writer.writerow([row, label, f"{p:.6f}"])
    metrics = {"task": "digits-predict", "images": source.name, "count": len(images), **environment(device)}
    if labels is not None:
        correct = int((predicted == torch.as_tensor(labels)).sum())
        metrics.update({"accuracy": correct / len(labels), "correct": correct, "total": len(labels)})
    print(f"labelled {len(images)} images from {source.name}" + (f"; {metrics['correct']}/{metrics['total']} match their labels" if labels is not None else ""))
    write_json(args.outputs / "metrics.json", metrics)


if __name__ == "__main__":
    run(main)
