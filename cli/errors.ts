// How the CLI reports a failure: one line, `pond: <what went wrong>`, that says
// what to do next; the stack only with POND_DEBUG set, for reporting a bug.
import { BaseError, ContractFunctionExecutionError, ContractFunctionRevertedError, decodeErrorResult, type AbiParameter, type Hex } from "viem";
import { pondMarketAbi } from "../contracts/generated/pondMarket.ts";
import { PondApiError } from "./sdk.ts";

/** A mistake the user can fix (a missing flag, not logged in): only its message is shown. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The one line to print for `error`, without the `pond: ` prefix. */
export function describeCliError(error: unknown): string {
  if (error instanceof PondApiError) {
    const fields = error.problem.errors?.map((e) => `\n  ${e.path}: ${e.message}`).join("") ?? "";
    return `${error.message}${fields}`;
  }
  if (error instanceof BaseError) {
    const refusal = marketRefusalOf(error);
    if (refusal) return refusal;
  }
  // viem's message carries docs links and request dumps; its shortMessage is the sentence.
  if (error instanceof BaseError) return error.details && !error.shortMessage.includes(error.details) ? `${error.shortMessage} (${error.details})` : error.shortMessage;
  if (error instanceof TypeError && /fetch failed/.test(error.message)) {
    return `cannot reach the API (${(error.cause as Error | undefined)?.message ?? error.message})`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * The market contract's own error behind a failed call, named from its ABI
 * (contracts/generated/pondMarket.ts) with its arguments. The node only says
 * `custom error 0x1b817991`; viem decodes that when it had the ABI, and the
 * raw revert data is decoded here when it did not.
 */
function marketRefusalOf(error: BaseError): string | undefined {
  const call = error.walk((e) => e instanceof ContractFunctionExecutionError) as ContractFunctionExecutionError | null;
  const refused = call ? `the market contract refused ${call.functionName}` : "the market contract refused the call";
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  if (reverted?.data) return `${refused}: ${formatMarketError(reverted.data.errorName, inputsOf(reverted.data.abiItem), reverted.data.args ?? [])}`;
  const data = (error.walk((e) => typeof (e as { data?: unknown }).data === "string" && /^0x[0-9a-f]{8}/i.test((e as { data: string }).data)) as { data?: Hex } | null)?.data;
  if (!data) return undefined;
  try {
    const decoded = decodeErrorResult({ abi: pondMarketAbi, data });
    return `${refused}: ${formatMarketError(decoded.errorName, inputsOf(decoded.abiItem), decoded.args ?? [])}`;
  } catch {
    // Not one of the market's errors: viem's own sentence describes it.
    return undefined;
  }
}

const inputsOf = (item: object): readonly AbiParameter[] => ("inputs" in item ? (item.inputs as readonly AbiParameter[]) : []);

/** `InsufficientFreeBalance(available: 0, requested: 5)`. */
function formatMarketError(name: string, inputs: readonly AbiParameter[], args: readonly unknown[]): string {
  const parts = inputs.map((input, i) => `${input.name || `arg${i}`}: ${String(args[i])}`);
  return `${name}(${parts.join(", ")})`;
}

export function reportCliError(error: unknown, debug: boolean): void {
  console.error(`pond: ${describeCliError(error)}`);
  if (debug && error instanceof Error && error.stack) console.error(error.stack);
}
