// How the CLI reports a failure: one line, `pond: <what went wrong>`, that says
// what to do next, and an exit code that says what kind of failure it was; the
// stack only with POND_DEBUG set, for reporting a bug.
import { BaseError, ContractFunctionExecutionError, ContractFunctionRevertedError, decodeErrorResult, HttpRequestError, type AbiParameter, type Hex } from "viem";
import { pondMarketAbi } from "../contracts/generated/pondMarket.ts";
import { KeyFileError } from "../keys/keyFile.ts";
import { PondApiError } from "../sdk/index.ts";
import { exitCodes, type ExitCode } from "./exitCodes.ts";

/** A mistake the user can fix (a missing flag, not logged in): only its message is shown. */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(
    message: string,
    readonly exitCode: ExitCode = exitCodes.usage,
  ) {
    super(message);
  }
}

/**
 * A failure part-way through work that left something behind (a sweep created though its answer was lost, a cancel
 * that reached some of its jobs):
 * reported as its cause is, with what was left named for a person and, under `left`, for a script (--json).
 */
export class PartialFailure extends Error {
  override name = "PartialFailure";
  constructor(
    readonly failure: unknown,
    readonly whatWasLeft: string,
    readonly left: Record<string, unknown>,
  ) {
    super(whatWasLeft, { cause: failure });
  }
}

/** Something this machine lacks (a Docker engine, a folder it can write): the message says what to install or fix. */
export class EnvironmentError extends Error {
  override name = "EnvironmentError";
}

/** The one line to print for `error`, without the `pond: ` prefix. */
export function describeCliError(error: unknown): string {
  if (error instanceof PartialFailure) return `${describeCliError(error.failure)}\n${error.whatWasLeft}`;
  if (error instanceof PondApiError) {
    const fields = error.problem.errors?.map((e) => `\n  ${e.path}: ${e.message}`).join("") ?? "";
    return `${error.message}${fields}`;
  }
  if (error instanceof BaseError) {
    // A revert names the market's error and its arguments, not its selector.
    const refusal = marketRefusalOf(error);
    if (refusal) return refusal;
    // viem's message carries docs links and request dumps; its shortMessage is the sentence.
    return error.details && !error.shortMessage.includes(error.details) ? `${error.shortMessage} (${error.details})` : error.shortMessage;
  }
  if (error instanceof TypeError && /fetch failed/.test(error.message)) {
    return `cannot reach the API (${(error.cause as Error | undefined)?.message ?? error.message})`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A downloaded output that does not match its manifest: it is not kept. */
export class OutputIntegrityError extends Error {
  override name = "OutputIntegrityError";
}

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof PartialFailure) return exitCodeOf(error.failure);
  if (error instanceof UsageError) return error.exitCode;
  if (error instanceof OutputIntegrityError) return exitCodes.integrity;
  if (error instanceof EnvironmentError || error instanceof KeyFileError) return exitCodes.environment;
  if (error instanceof PondApiError) {
    if (error.status === 401 || error.status === 403) return exitCodes.unauthorized;
    if (error.status === 404) return exitCodes.notFound;
    return error.status >= 500 ? exitCodes.unreachable : exitCodes.refused;
  }
  if (error instanceof TypeError && /fetch failed/.test(error.message)) return exitCodes.unreachable;
  if (error instanceof BaseError) {
    if (error.walk((e) => e instanceof HttpRequestError)) return exitCodes.unreachable;
    return exitCodes.chain;
  }
  if (error instanceof Error && /reverted/.test(error.message)) return exitCodes.chain;
  return exitCodes.internal;
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

export function reportCliError(error: unknown, options: { debug: boolean; json: boolean }): ExitCode {
  const code = exitCodeOf(error);
  const message = describeCliError(error);
  // What went wrong: a partial failure's own cause (its problem, its stack).
  const cause = error instanceof PartialFailure ? error.failure : error;
  if (options.json) {
    const problem = cause instanceof PondApiError ? { problem: cause.problem } : {};
    const left = error instanceof PartialFailure ? { left: error.left } : {};
    console.error(JSON.stringify({ error: { message, exit_code: code, ...problem, ...left } }));
  } else {
    console.error(`pond: ${message}`);
    if (code === exitCodes.internal) console.error("pond: this looks like a bug in pond; rerun with POND_DEBUG=1 and report what it prints");
  }
  if (options.debug && cause instanceof Error && cause.stack) console.error(cause.stack);
  return code;
}
