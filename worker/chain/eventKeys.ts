// What an indexed market event touches: the job, accounts and providers whose
// state must be read again from the contract. Pure.
export interface IndexedEvent {
  name: string;
  args: Record<string, unknown>;
}

export interface Touched {
  jobs: Set<string>;
  accounts: Set<string>;
  providers: Set<string>;
}

const ZERO_JOB = `0x${"0".repeat(64)}`;

export function emptyTouched(): Touched {
  return { jobs: new Set(), accounts: new Set(), providers: new Set() };
}

/** The chain job id an event is about, if any. */
export function jobIdOf(event: IndexedEvent): string | undefined {
  const jobId = event.args.jobId;
  return typeof jobId === "string" && jobId !== ZERO_JOB ? jobId.toLowerCase() : undefined;
}

export function touch(event: IndexedEvent, into: Touched): void {
  const address = (key: string) => {
    const value = event.args[key];
    return typeof value === "string" ? value.toLowerCase() : undefined;
  };
  const add = (set: Set<string>, value: string | undefined) => value && set.add(value);
  add(into.jobs, jobIdOf(event));
  // Balances move for whoever an event names as account, creator, or provider (credits).
  for (const key of ["account", "creator", "provider", "mediator"]) add(into.accounts, address(key));
  for (const key of ["provider", "mediator"]) add(into.providers, address(key));
}

/** Events after which a job's settlement should be announced. */
export const settlementEvents = new Set(["JobReserved", "ChallengeOpened", "JobSettled", "JobReleased", "ChallengeResolved"]);
