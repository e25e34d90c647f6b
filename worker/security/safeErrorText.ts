// Error text that is safe to log: an RPC URL may carry the provider's API key in
// its path (https://arb-mainnet.example/v2/<key>), and viem writes the URL it
// called into its errors' messages. viem's short message and details, with the
// URL replaced by "<rpc>", say what went wrong without it.
import { BaseError } from "viem";

export function safeErrorText(error: unknown, rpcUrl: string | undefined): string {
  let text: string;
  if (error instanceof BaseError) {
    text = error.details && error.details !== error.shortMessage ? `${error.shortMessage} (${error.details})` : error.shortMessage;
  } else if (error instanceof Error) {
    text = `${error.name}: ${error.message}`;
  } else {
    text = String(error);
  }
  return redactRpcUrl(text, rpcUrl);
}

/** Replaces every spelling of the RPC URL in `text` (as given, normalized, without credentials) with "<rpc>". */
export function redactRpcUrl(text: string, rpcUrl: string | undefined): string {
  if (!rpcUrl) return text;
  const spellings = new Set([rpcUrl]);
  try {
    const url = new URL(rpcUrl);
    spellings.add(url.href);
    url.username = "";
    url.password = "";
    spellings.add(url.href);
  } catch {
    // Not a URL after all: the string as given is all there is to hide.
  }
  for (const spelling of [...spellings]) spellings.add(spelling.replace(/\/+$/, ""));
  // Longest first, so a shorter spelling never leaves the tail of a longer one behind.
  let redacted = text;
  for (const spelling of [...spellings].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)) redacted = redacted.split(spelling).join("<rpc>");
  return redacted;
}
