// The ML templates Pond ships: a small PyTorch project (templates/ml/digits/) that trains an MLP on
// scikit-learn's digits, evaluates a trained model and labels images with it. Their image is built
// from Debian's packages by scripts/build-ml-image.sh, with the code in /opt/pond/digits, so the
// image's digest pins the code too. Apart from shippedTemplates (templates/shipped.ts), whose
// busybox image is always there: this one takes minutes to build the first time.
import type { TemplateDefinitionInput } from "../protocol/template.ts";

/** A CPU job: the digits train in seconds on one core. The scripts use a GPU where the container has one. */
const resources = { gpus: 0, cpus: 1, memory_mb: 1024 } as const;
const price = "1000000000000000";
// Not deterministic for challenges: one machine gives the same bytes every run (seeded, one thread,
// deterministic kernels), but a mediator re-runs elsewhere, where other CPU kernels may round differently.
const deterministic = false;
const code = "/opt/pond/digits";

/** `image` is the pinned reference of the image scripts/build-ml-image.sh builds. */
export function mlTemplates(image: string): TemplateDefinitionInput[] {
  return [
    {
      name: "pond/digits-train",
      // 1.1.0: reports loss, val_loss and val_accuracy each epoch (POND_METRICS lines).
      version: "1.1.0",
      description:
        "Trains a PyTorch MLP on scikit-learn's 8×8 digits; reports loss, val_loss and val_accuracy each epoch as it trains (pond jobs metrics); writes /outputs/model.pt and /outputs/metrics.json (held-out accuracy, loss per epoch). Seeded: the same parameters give the same model",
      image,
      cmd: ["python3", `${code}/train.py`, "--epochs", "{{epochs}}", "--hidden", "{{hidden}}", "--lr", "{{lr}}", "--batch-size", "{{batch_size}}", "--seed", "{{seed}}"],
      params: {
        type: "object",
        properties: {
          epochs: { type: "integer", description: "Passes over the 1,437 training images", minimum: 1, maximum: 1000, default: 30 },
          hidden: { type: "integer", description: "Units in the hidden layer", minimum: 1, maximum: 4096, default: 64 },
          lr: { type: "number", description: "Adam's learning rate", minimum: 0.000001, maximum: 1, default: 0.001 },
          batch_size: { type: "integer", description: "Images per optimiser step", minimum: 1, maximum: 1437, default: 32 },
          seed: { type: "integer", description: "Seeds the weights and the batches' order", minimum: 0, maximum: 2147483647, default: 0 },
        },
      },
      resources,
      timeout_s: 1800,
      default_max_price_wei: price,
      deterministic,
      // Where training stands is saved every few seconds; a run requeued after its provider was lost goes on from the latest kept.
      checkpoint: { interval_s: 30 },
    },
    {
      name: "pond/digits-eval",
      version: "1.0.0",
      description:
        "Evaluates a model from pond/digits-train on the held-out split it was judged on (send its model.pt with --input); writes /outputs/metrics.json with the accuracy",
      image,
      cmd: ["python3", `${code}/evaluate.py`],
      resources,
      timeout_s: 600,
      default_max_price_wei: price,
      deterministic,
    },
    {
      name: "pond/digits-predict",
      version: "1.0.0",
      description:
        "Labels 8×8 digit images (a .csv of 64 pixels 0–16 a row, or a .npy) with a model from pond/digits-train (send both with --input); writes /outputs/predictions.csv",
      image,
      cmd: ["python3", `${code}/predict.py`],
      resources,
      timeout_s: 600,
      default_max_price_wei: price,
      deterministic,
    },
  ];
}
