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
  ];
}
