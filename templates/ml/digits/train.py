"""pond/digits-train: trains a small MLP on scikit-learn's digits and judges it on a fixed held-out split.

Writes model.pt (the weights, with the architecture and normalisation evaluate.py and predict.py
need) and metrics.json (held-out accuracy and loss, loss per epoch, the parameters and the
environment). The same parameters on the same machine give the same model and metrics.

Where Pond gives the job a checkpoint folder (POND_CHECKPOINT_DIR), where training stands is saved
there every few seconds; a run that finds a state there (its job was requeued after its provider
was lost) goes on from it, and ends with the same model an unbroken run would have made."""

import os
import resource
import time
from pathlib import Path

import torch
from torch import nn

from common import CLASSES, PIXELS, InputError, arguments, build_model, environment, evaluate, held_out_split, load_training_state, normalise, report_metrics, run, save_checkpoint, save_training_state, setup_torch, write_json

# How often, at most, where training stands is written to the checkpoint folder.
SAVE_EVERY_S = 2.0


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=64, help="units in the hidden layer")
    parser.add_argument("--lr", type=float, default=0.001, help="Adam's learning rate")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name in ("epochs", "hidden", "batch_size"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1")
    if not args.lr > 0:
        raise InputError("--lr must be more than 0")
    params = {"epochs": args.epochs, "hidden": args.hidden, "lr": args.lr, "batch_size": args.batch_size, "seed": args.seed}

    device = setup_torch(args.seed)
    (x_train, y_train), (x_test, y_test) = held_out_split()
    # Normalised with the training images' statistics only; a constant pixel (the digits' border) keeps std 1.
    train_pixels = torch.as_tensor(x_train)
    normalisation = {"mean": train_pixels.mean(dim=0), "std": train_pixels.std(dim=0).clamp(min=1.0)}
    x = normalise(x_train, normalisation, device)
    y = torch.as_tensor(y_train, device=device)
    x_held_out, y_held_out = normalise(x_test, normalisation, device), torch.as_tensor(y_test, device=device)
    architecture = {"inputs": PIXELS, "hidden": args.hidden, "classes": CLASSES}
    model = build_model(architecture).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)
    order = torch.Generator().manual_seed(args.seed)
    print(f"training {architecture} on {len(y_train)} images, {len(y_test)} held out; {params}; {environment(device)}")

    checkpoints = Path(os.environ["POND_CHECKPOINT_DIR"]) if os.environ.get("POND_CHECKPOINT_DIR") else None
    resumed = load_training_state(checkpoints, params, model, optimiser, order) if checkpoints else None
    first_epoch, losses = (resumed[0] + 1, resumed[1]) if resumed else (1, [])
    if resumed:
        print(f"resuming after epoch {resumed[0]} from the checkpoint in {checkpoints}")

    started = time.monotonic()
    last_save = started
    report_every = max(1, args.epochs // 15)
    for epoch in range(first_epoch, args.epochs + 1):
        model.train()
        total = 0.0
        for batch in torch.randperm(len(y), generator=order).split(args.batch_size):
            batch = batch.to(device)
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimiser.step()
            total += float(loss) * len(batch)
        losses.append(total / len(y))
        # Judged on the held-out split every epoch, for the curve Pond shows while it runs; it draws
        # nothing from the seeded generator, so the model is the one a run without it makes.
        with torch.no_grad():
            judged = evaluate(model, x_held_out, y_held_out)
        report_metrics(epoch, loss=losses[-1], val_loss=judged["loss"], val_accuracy=judged["accuracy"])
        if epoch % report_every == 0 or epoch == args.epochs:
            print(f"epoch {epoch}/{args.epochs}  loss {losses[-1]:.4f}")
        if checkpoints and epoch < args.epochs and time.monotonic() - last_save >= SAVE_EVERY_S:
            save_training_state(checkpoints, {"epoch": epoch, "losses": losses, "params": params, "model": model, "optimiser": optimiser, "generator": order})
            last_save = time.monotonic()
    seconds = time.monotonic() - started

    held_out = evaluate(model, x_held_out, y_held_out)
    print(f"held-out accuracy {held_out['accuracy']:.4f} ({held_out['correct']}/{held_out['total']}), trained in {seconds:.2f} s, peak memory {peak_memory_mb():.0f} MiB")
    args.outputs.mkdir(parents=True, exist_ok=True)
    save_checkpoint(args.outputs / "model.pt", model, architecture, normalisation, params)
    # Done: model.pt is the result, and a training state left in /outputs/checkpoint would only be an output to download.
    if checkpoints:
        (checkpoints / "training.pt").unlink(missing_ok=True)
    # Times go to the log, not here: metrics.json is the same file every time the run is repeated.
    # Whether it resumed goes to the log, not here: a resumed run's metrics.json is the unbroken run's.
    write_json(args.outputs / "metrics.json", {"task": "digits-train", **held_out, "loss_per_epoch": losses, "params": params, **environment(device)})


if __name__ == "__main__":
    run(main)
