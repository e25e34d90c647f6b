import { pino, type Logger } from "pino";

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "pond-provider" },
    // Belt and braces: nothing named like a key is ever printed.
    redact: { paths: ["privateKey", "*.privateKey", "key", "*.key", "signature"], censor: "[redacted]" },
  });
}
