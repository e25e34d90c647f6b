"""pond/digits-eval: a model from pond/digits-train, judged on the same held-out split it was.

Reads the one .pt file among the inputs; writes metrics.json with the accuracy (and the counts it
comes from), the loss and the confusion matrix. For the model a training run wrote, the accuracy is
the one that run reported."""

import torch

from common import arguments, environment, evaluate, find_input, held_out_split, load_checkpoint, normalise, run, setup_torch, write_json


def main() -> None:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    device = setup_torch()
    path = find_input(args.inputs, (".pt", ".pth"), "model file")
    model, checkpoint = load_checkpoint(path, device)
    # The split the model was judged on when it was trained, as its checkpoint records it.
    _, (x_test, y_test) = held_out_split(checkpoint["split"])
    held_out = evaluate(model, normalise(x_test, checkpoint["normalisation"], device), torch.as_tensor(y_test, device=device))
    print(f"{path.name}: held-out accuracy {held_out['accuracy']:.4f} ({held_out['correct']}/{held_out['total']}), loss {held_out['loss']:.4f}")
    write_json(args.outputs / "metrics.json", {"task": "digits-eval", "model": path.name, **held_out, "trained_with": checkpoint["params"], **environment(device)})


if __name__ == "__main__":
    run(main)
