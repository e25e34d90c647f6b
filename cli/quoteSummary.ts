// `pond run --dry-run`'s answer for a person: the market a job would meet now.
import { formatEther } from "viem";
import { formatBytes } from "../protocol/byteSize.ts";
import type { JobQuote } from "../protocol/quote.ts";

export function describeQuote(quote: JobQuote, what: string): string[] {
  const lines = [
    `${what}: nothing created`,
    `  providers online ${quote.providers_online}; able to run it ${quote.providers_fit}; with room now ${quote.providers_free}; within your price ${quote.providers_within_price}`,
  ];
  if (quote.rate_wei_per_second) {
    const { lowest, highest } = quote.rate_wei_per_second;
    lines.push(`  rates ${lowest === highest ? formatEther(BigInt(lowest)) : `${formatEther(BigInt(lowest))} to ${formatEther(BigInt(highest))}`} ETH a second`);
  }
  if (quote.offered_rate_wei_per_second && quote.max_cost_wei) {
    const warm = quote.offered_warm_bytes > 0 ? ` by a provider already holding ${formatBytes(quote.offered_warm_bytes)} of it (image, inputs)` : "";
    lines.push(`  offered now${warm} at ${formatEther(BigInt(quote.offered_rate_wei_per_second))} ETH a second: at most ${formatEther(BigInt(quote.max_cost_wei))} ETH if it runs its whole timeout`);
  }
  lines.push(`  ${quote.detail}`);
  return lines;
}
