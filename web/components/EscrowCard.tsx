// The creator's escrow as Pond has indexed it from the market contract.
import { AccountInfo } from "../../protocol/account.ts";
import { requestJson } from "../api/http.ts";
import { formatEth } from "../format/wei.ts";
import { usePoll } from "../live/usePoll.ts";
import { Figure } from "./Figure.tsx";

export function EscrowCard() {
  const account = usePoll((signal) => requestJson(AccountInfo, "/v1/account", { auth: true, signal }), 10_000);
  if (!account.data) return null;
  const escrow = account.data.escrow;
  return (
    <section class="figures" aria-label="Escrow" data-testid="escrow">
      <Figure label="Escrow balance" value={formatEth(escrow.balance_wei)} hint="deposited in the market" />
      <Figure label="Reserved by jobs" value={formatEth(BigInt(escrow.reserved_wei) + BigInt(escrow.reserving_wei))} />
      <Figure label="Free to spend" value={formatEth(escrow.available_wei)} testId="escrow-free" />
    </section>
  );
}
