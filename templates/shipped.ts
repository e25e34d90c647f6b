// The templates Pond ships, ready to run on the local network (`npm start`
// publishes them under the `pond` namespace, their image pinned by digest in a
// local registry). Each is a plain TemplateDefinition: what an author writes.
import type { TemplateDefinitionInput } from "../protocol/template.ts";

const small = { gpus: 0, cpus: 0.5, memory_mb: 128 } as const;

/** `image` is the pinned reference of a busybox-based image (scripts/build-test-images.sh). */
export function shippedTemplates(image: string): TemplateDefinitionInput[] {
  return [
    {
      name: "pond/echo",
      version: "1.0.0",
      description: "Prints a message, as many times as asked, and keeps it in /outputs/message.txt",
      image,
      // Values reach the shell as environment variables, never as code.
      cmd: ["sh", "-c", 'i=0; while [ "$i" -lt "$TIMES" ]; do echo "$MESSAGE"; i=$((i+1)); done; printf "%s\\n" "$MESSAGE" > /outputs/message.txt'],
      env: { MESSAGE: "{{message}}", TIMES: "{{times}}" },
      params: {
        type: "object",
        properties: {
          message: { type: "string", description: "What to print", maxLength: 1000 },
          times: { type: "integer", description: "How many times", minimum: 1, maximum: 100, default: 1 },
        },
        required: ["message"],
      },
      resources: small,
      timeout_s: 60,
      default_max_price_wei: "1000000000000000",
      deterministic: true,
    },
    {
      name: "pond/checksum",
      version: "1.0.0",
      description: "The sha256 of every file under /inputs, in /outputs/sha256sums.txt (send files with --input)",
      image,
      cmd: ["sh", "-c", "cd /inputs && find . -type f | sort | xargs -r sha256sum | tee /outputs/sha256sums.txt"],
      resources: small,
      timeout_s: 600,
      default_max_price_wei: "1000000000000000",
      deterministic: true,
    },
    {
      name: "pond/countdown",
      version: "1.0.0",
      description: "Counts down one line a second: a job to watch live",
      image,
      cmd: ["sh", "-c", 'i="$SECONDS_LEFT"; while [ "$i" -gt 0 ]; do echo "$i"; i=$((i-1)); sleep 1; done; echo liftoff | tee /outputs/liftoff.txt'],
      env: { SECONDS_LEFT: "{{seconds}}" },
      params: { type: "object", properties: { seconds: { type: "integer", description: "Seconds to count down", minimum: 1, maximum: 300, default: 10 } } },
      resources: small,
      timeout_s: 330,
      default_max_price_wei: "1000000000000000",
      deterministic: true,
    },
    {
      name: "pond/jitter",
      version: "1.0.0",
      description:
        "Writes numbers and labels that differ a little on every run, as an ML job's do from one machine to the next: /outputs/metrics.json (a loss curve and an accuracy, each within ±noise of its value) and /outputs/labels.txt (200 labels, up to `flips` of them changed). Its declared comparison keeps honest runs within tolerance, so a challenge upholds them",
      image,
      // A fresh seed every run: the jitter a mediator's re-run sees. Values reach awk as variables, never as code.
      cmd: ["sh", "-c", JITTER_SCRIPT],
      env: { NOISE: "{{noise}}", FLIPS: "{{flips}}" },
      params: {
        type: "object",
        properties: {
          noise: { type: "number", description: "Most a number moves from its value, either way", minimum: 0, maximum: JITTER_MAX_NOISE, default: JITTER_MAX_NOISE / 2 },
          flips: { type: "integer", description: "Most labels changed of the 200", minimum: 0, maximum: JITTER_MAX_FLIPS, default: 2 },
        },
      },
      resources: small,
      timeout_s: 60,
      default_max_price_wei: "1000000000000000",
      deterministic: false,
      // Two honest runs differ by at most 2 × noise per number and 2 × flips labels: inside these, with room.
      verify: {
        mode: "tolerant",
        files: [
          { path: "metrics.json", format: "json", atol: 2.5 * JITTER_MAX_NOISE },
          { path: "labels.txt", format: "labels", min_agreement: 1 - (3 * JITTER_MAX_FLIPS) / JITTER_LABELS },
        ],
      },
    },
  ];
}

/** pond/jitter's bounds: its verify rule leaves room above what two honest runs can differ by. */
export const JITTER_MAX_NOISE = 0.0001;
export const JITTER_MAX_FLIPS = 2;
export const JITTER_LABELS = 200;

const JITTER_SCRIPT = [
  "seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')",
  `awk -v seed="$seed" -v noise="$NOISE" 'BEGIN { srand(seed); printf "{\\"loss\\":["; for (e = 1; e <= 10; e++) printf "%s%.9f", (e > 1 ? "," : ""), 1 / (e + 1) + (2 * rand() - 1) * noise; printf "],\\"accuracy\\":%.9f}\\n", 0.9 + (2 * rand() - 1) * noise }' > /outputs/metrics.json`,
  `awk -v seed="$seed" -v flips="$FLIPS" -v n=${JITTER_LABELS} 'BEGIN { srand(seed + 1); for (k = 0; k < flips; k++) changed[int(rand() * n)] = 1; for (i = 0; i < n; i++) print ((i in changed) ? (i + 1) % 10 : i % 10) }' > /outputs/labels.txt`,
  "cat /outputs/metrics.json",
].join("\n");
