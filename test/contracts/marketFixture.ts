// What the contract tests (and bench/gas.ts) share: a deployed market with its
// parties, signing Pond's EIP-712 messages with the types from
// protocol/eip712.ts, sending transactions, and reading reverts and events.
import {
  BaseError,
  ContractFunctionRevertedError,
  getContract,
  keccak256,
  parseEther,
  parseEventLogs,
  parseSignature,
  signatureToCompactSignature,
  stringToHex,
  type Account,
  type Address,
  type Chain,
  type ContractEventName,
  type ContractFunctionArgs,
  type GetContractReturnType,
  type Hash,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type TypedDataDomain,
  type WalletClient,
} from "viem";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import { jobAuthorizationTypes, jobResultTypes, mediationTypes, pondDomain, verdictTypes } from "../../protocol/eip712.ts";
import { deployMarket, fundedAccount, type Anvil, type DeployMarketOptions } from "../helpers/anvil.ts";

export type Reservation = ContractFunctionArgs<typeof pondMarketAbi, "nonpayable", "reserveJobs">[0][number];
export type ResultSubmission = ContractFunctionArgs<typeof pondMarketAbi, "nonpayable", "submitResults">[0][number];
export type CompactSignature = ResultSubmission["providerSignature"];

export type MarketContract = GetContractReturnType<typeof pondMarketAbi, { public: PublicClient<Transport, Chain>; wallet: WalletClient<Transport, Chain, Account> }, Address>;

/** JobStatus in contracts/src/PondTypes.sol. */
export const JobStatus = { None: 0, Reserved: 1, Reported: 2, Challenged: 3, Settled: 4, Released: 5, Refunded: 6 } as const;
export const ReleaseReason = { Canceled: 0, Expired: 1, ResultRejected: 2 } as const;
export const CreditReason = { ProtocolFee: 0, BondReturned: 1, BondToProvider: 2, MediatorReward: 3, SlashCompensation: 4 } as const;
export const ChallengeOutcome = { ResultUpheld: 0, ResultRejected: 1, Voided: 2 } as const;

/** A fresh on-chain job id from a label. */
export function jobIdOf(label: string): Hex {
  return keccak256(stringToHex(`pond-test-job:${label}`));
}

export function hashOf(label: string): Hex {
  return keccak256(stringToHex(label));
}

/** A 65-byte signature in the EIP-2098 form batched records carry. */
export function compact(signature: Hex): CompactSignature {
  return signatureToCompactSignature(parseSignature(signature));
}

export interface JobTerms {
  jobId: Hex;
  specHash?: Hex;
  maxPrice: bigint;
  deadline: bigint;
  /** Whether a challenge is judged by the mediator's verdict (false, an exact job, by default). */
  tolerant?: boolean;
}

/** The creator signs a JobAuthorization; the result is what reserveJobs takes. */
export async function signReservation(creator: LocalAccount, domain: TypedDataDomain, terms: JobTerms): Promise<Reservation> {
  const message = { jobId: terms.jobId, specHash: terms.specHash ?? hashOf(`spec:${terms.jobId}`), maxPrice: terms.maxPrice, deadline: terms.deadline, tolerant: terms.tolerant ?? false };
  const signature = await creator.signTypedData({ domain, types: jobAuthorizationTypes, primaryType: "JobAuthorization", message });
  return { ...message, creator: creator.address, creatorSignature: compact(signature) };
}

export interface ResultClaim {
  jobId: Hex;
  resultHash: Hex;
  amount: bigint;
}

/** The provider signs a JobResult; the result is what submitResults takes. */
export async function signResult(provider: LocalAccount, domain: TypedDataDomain, claim: ResultClaim): Promise<ResultSubmission> {
  const signature = await provider.signTypedData({ domain, types: jobResultTypes, primaryType: "JobResult", message: claim });
  return { ...claim, providerSignature: compact(signature) };
}

export async function signMediation(mediator: LocalAccount, domain: TypedDataDomain, jobId: Hex, resultHash: Hex): Promise<Hex> {
  return mediator.signTypedData({ domain, types: mediationTypes, primaryType: "Mediation", message: { jobId, resultHash } });
}

export interface Verdict {
  jobId: Hex;
  /** The provider's claimed result hash, as the challenge holds it. */
  resultHash: Hex;
  rerunHash: Hex;
  upheld: boolean;
}

/** A tolerant job's mediator signs its Verdict; judgeChallenge takes it with the rerun hash and the verdict. */
export async function signVerdict(mediator: LocalAccount, domain: TypedDataDomain, verdict: Verdict): Promise<Hex> {
  return mediator.signTypedData({ domain, types: verdictTypes, primaryType: "Verdict", message: verdict });
}

/** Awaits a transaction sent to an automining anvil and returns its receipt, failing if it reverted. */
export async function mined(anvil: Pick<Anvil, "publicClient">, sent: Promise<Hash>): Promise<TransactionReceipt> {
  const hash = await sent;
  const receipt = await anvil.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 10 });
  if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
  return receipt;
}

/** The custom error a contract call reverted with, decoded against PondMarket's ABI. */
export async function revertOf(sent: Promise<unknown>): Promise<{ errorName: string; args: readonly unknown[] }> {
  try {
    await sent;
  } catch (error) {
    if (error instanceof BaseError) {
      const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
      if (reverted instanceof ContractFunctionRevertedError && reverted.data) {
        return { errorName: reverted.data.errorName, args: reverted.data.args ?? [] };
      }
    }
    throw error;
  }
  throw new Error("expected the call to revert, but it succeeded");
}

/** The market's events of one kind in a receipt, decoded. */
export function eventsIn<const name extends ContractEventName<typeof pondMarketAbi>>(receipt: TransactionReceipt, eventName: name) {
  return parseEventLogs({ abi: pondMarketAbi, logs: receipt.logs, eventName });
}

export interface MarketFixture {
  anvil: Anvil;
  address: Address;
  domain: TypedDataDomain;
  owner: LocalAccount;
  relayer: LocalAccount;
  treasury: LocalAccount;
  creators: LocalAccount[];
  providers: LocalAccount[];
  /** The market seen from `account`: `.read.x(...)`, `.write.x(...)`. */
  as(account: Account): MarketContract;
  /** Latest block's timestamp. */
  now(): Promise<bigint>;
  /** The relayer reserves jobs the creator signs; returns the signed reservations. */
  reserve(creator: LocalAccount, terms: Array<Partial<JobTerms> & { jobId: Hex }>): Promise<Reservation[]>;
  /** The relayer submits results the provider signs; returns the signed submissions. */
  report(provider: LocalAccount, claims: ResultClaim[]): Promise<ResultSubmission[]>;
}

export interface MarketFixtureOptions extends Partial<Omit<DeployMarketOptions, "deployer">> {
  creators?: number;
  providers?: number;
  /** Each creator deposits this much escrow (10 ETH by default). */
  deposit?: bigint;
  /** Each provider registers with this much stake (2 ETH by default). */
  stake?: bigint;
}

export const DEFAULT_MAX_PRICE = parseEther("0.01");

/** Deploys a market with an owner, a relayer, a treasury, funded creators (with escrow) and registered providers. */
export async function createMarketFixture(anvil: Anvil, options: MarketFixtureOptions = {}): Promise<MarketFixture> {
  const owner = await fundedAccount(anvil, "owner");
  const relayer = await fundedAccount(anvil, "relayer");
  const treasury = await fundedAccount(anvil, "treasury");
  const address = await deployMarket(anvil, { deployer: owner, relayer: relayer.address, treasury: treasury.address, ...options });
  const contracts = new Map<Address, MarketContract>();
  const as = (account: Account) => {
    let contract = contracts.get(account.address);
    if (!contract) {
      contract = getContract({ address, abi: pondMarketAbi, client: { public: anvil.publicClient, wallet: anvil.walletFor(account) } });
      contracts.set(account.address, contract);
    }
    return contract;
  };
  const creators = await Promise.all(Array.from({ length: options.creators ?? 3 }, (_, i) => fundedAccount(anvil, `creator-${i}`)));
  const providers = await Promise.all(Array.from({ length: options.providers ?? 4 }, (_, i) => fundedAccount(anvil, `provider-${i}`)));
  for (const creator of creators) await mined(anvil, as(creator).write.deposit({ value: options.deposit ?? parseEther("10") }));
  for (const provider of providers) await mined(anvil, as(provider).write.register({ value: options.stake ?? parseEther("2") }));
  const domain = pondDomain(anvil.chainId, address);
  const now = async () => (await anvil.publicClient.getBlock()).timestamp;
  return {
    anvil,
    address,
    domain,
    owner,
    relayer,
    treasury,
    creators,
    providers,
    as,
    now,
    async reserve(creator, terms) {
      const deadline = (await now()) + 86_400n;
      const reservations = await Promise.all(
        terms.map((t) => signReservation(creator, domain, { maxPrice: DEFAULT_MAX_PRICE, deadline, ...t })),
      );
      await mined(anvil, as(relayer).write.reserveJobs([reservations]));
      return reservations;
    },
    async report(provider, claims) {
      const results = await Promise.all(claims.map((claim) => signResult(provider, domain, claim)));
      await mined(anvil, as(relayer).write.submitResults([results]));
      return results;
    },
  };
}

/**
 * Runs each test of a file from the same starting state: takes an anvil
 * snapshot once the fixture is built, and reverts to it before every test.
 */
export function snapshotIsolation(anvil: () => Anvil): { capture(): Promise<void>; restore(): Promise<void> } {
  let id: Hex | undefined;
  return {
    async capture() {
      id = await anvil().testClient.snapshot();
    },
    async restore() {
      if (!id) throw new Error("capture() must run before restore()");
      await anvil().testClient.revert({ id });
      // evm_revert consumes the snapshot: take it again for the next test.
      id = await anvil().testClient.snapshot();
    },
  };
}
