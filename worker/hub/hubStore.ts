// The hub's durable state, in its Durable Object's SQLite: the providers it
// has seen and the reservations (offered or running jobs) they hold; and, in
// memory beside each reservation, its job as last seen (heldJobs.ts).
import { z } from "zod";
import { ProviderPricing, ProviderResources } from "../../protocol/hubMessages.ts";
import type { Reservation } from "./capacity.ts";
import { HeldJobs, type HeldJob } from "./heldJobs.ts";

export interface ProviderRecord {
  address: string;
  resources: ProviderResources | null;
  pricing: ProviderPricing | null;
  reputation: number;
  connected: boolean;
  disconnectedAt: number | null;
}

/** `stopping`: the job ended by someone else's hand while it ran; what it holds is freed when its provider says it stopped. */
export type ReservationState = "offered" | "accepted" | "stopping";

export interface ReservationRecord extends Reservation {
  address: string;
  state: ReservationState;
  offerExpiresAt: number;
  rateWeiPerSecond: string;
  maxAmountWei: string;
  chainJobId: string;
}

export class HubStore {
  /** Each reserved job as the hub last read or wrote it; goes with its reservation. */
  readonly heldJobs = new HeldJobs();

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS providers (
      address TEXT PRIMARY KEY, resources TEXT, pricing TEXT, reputation REAL NOT NULL DEFAULT 0,
      connected INTEGER NOT NULL DEFAULT 0, disconnected_at INTEGER)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS reservations (
      job_id TEXT PRIMARY KEY, address TEXT NOT NULL, gpu_uuids TEXT NOT NULL, milli_cpus INTEGER NOT NULL,
      memory_mb INTEGER NOT NULL, state TEXT NOT NULL, offer_expires_at INTEGER NOT NULL,
      rate_wei_per_second TEXT NOT NULL, max_amount_wei TEXT NOT NULL, chain_job_id TEXT NOT NULL)`);
    sql.exec("CREATE INDEX IF NOT EXISTS reservations_address ON reservations(address)");
    // Who was drawn to mediate which job: only their verdict is passed on.
    sql.exec("CREATE TABLE IF NOT EXISTS mediations (job_id TEXT NOT NULL, address TEXT NOT NULL, PRIMARY KEY (job_id, address))");
  }

  provider(address: string): ProviderRecord | undefined {
    const row = this.sql.exec("SELECT * FROM providers WHERE address = ?", address).toArray()[0];
    return row ? toProvider(row) : undefined;
  }

  connect(address: string, reputation: number): void {
    this.sql.exec(
      `INSERT INTO providers (address, reputation, connected, disconnected_at) VALUES (?, ?, 1, NULL)
       ON CONFLICT(address) DO UPDATE SET connected = 1, disconnected_at = NULL, reputation = excluded.reputation`,
      address,
      reputation,
    );
  }

  advertise(address: string, resources: ProviderResources, pricing: ProviderPricing): void {
    this.sql.exec("UPDATE providers SET resources = ?, pricing = ? WHERE address = ?", JSON.stringify(resources), JSON.stringify(pricing), address);
  }

  disconnect(address: string, at: number): void {
    this.sql.exec("UPDATE providers SET connected = 0, disconnected_at = ? WHERE address = ?", at, address);
  }

  /** Drops a provider that is still gone; one that came back meanwhile keeps its record. */
  forget(address: string, disconnectedBy: number): void {
    const dropped = this.sql.exec("DELETE FROM providers WHERE address = ? AND connected = 0 AND disconnected_at <= ?", address, disconnectedBy).rowsWritten;
    if (dropped > 0) {
      for (const { job_id } of this.sql.exec<{ job_id: string }>("SELECT job_id FROM reservations WHERE address = ?", address)) this.heldJobs.drop(job_id);
      this.sql.exec("DELETE FROM reservations WHERE address = ?", address);
      this.sql.exec("DELETE FROM mediations WHERE address = ?", address);
    }
  }

  drawnAsMediator(jobId: string, address: string): void {
    this.sql.exec("INSERT OR IGNORE INTO mediations (job_id, address) VALUES (?, ?)", jobId, address);
  }

  isDrawnMediator(jobId: string, address: string): boolean {
    return this.sql.exec("SELECT 1 FROM mediations WHERE job_id = ? AND address = ?", jobId, address).toArray().length > 0;
  }

  /** Providers gone longer than the grace period. */
  lostBefore(cutoff: number): string[] {
    return this.sql
      .exec("SELECT address FROM providers WHERE connected = 0 AND disconnected_at <= ?", cutoff)
      .toArray()
      .map((row) => String(row.address));
  }

  earliestDisconnect(): number | undefined {
    const row = this.sql.exec("SELECT MIN(disconnected_at) AS at FROM providers WHERE connected = 0").toArray()[0];
    return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
  }

  reservationsOf(address: string): ReservationRecord[] {
    return this.sql.exec("SELECT * FROM reservations WHERE address = ?", address).toArray().map(toReservation);
  }

  reservation(jobId: string): ReservationRecord | undefined {
    const row = this.sql.exec("SELECT * FROM reservations WHERE job_id = ?", jobId).toArray()[0];
    return row ? toReservation(row) : undefined;
  }

  reserve(record: ReservationRecord): void {
    this.sql.exec(
      `INSERT INTO reservations (job_id, address, gpu_uuids, milli_cpus, memory_mb, state, offer_expires_at, rate_wei_per_second, max_amount_wei, chain_job_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      record.jobId,
      record.address,
      JSON.stringify(record.gpuUuids),
      record.milliCpus,
      record.memoryMb,
      record.state,
      record.offerExpiresAt,
      record.rateWeiPerSecond,
      record.maxAmountWei,
      record.chainJobId,
    );
  }

  markAccepted(jobId: string): void {
    this.sql.exec("UPDATE reservations SET state = 'accepted' WHERE job_id = ?", jobId);
  }

  /** The job was ended while it ran: its capacity stays held until its provider's result (or `deadline`), its copy goes. */
  markStopping(jobId: string, deadline: number): void {
    this.sql.exec("UPDATE reservations SET state = 'stopping', offer_expires_at = ? WHERE job_id = ?", deadline, jobId);
    this.heldJobs.drop(jobId);
  }

  /**
   * A transition of a reserved job that starts from its copy: the copy goes if the transition throws (its
   * write may have landed), and the job as written is kept while still reserved (a job released meanwhile,
   * ended or its provider lost, would have nothing to drop its copy).
   */
  async fromHeldCopy<T extends HeldJob | undefined>(jobId: string, transition: (seen: HeldJob | undefined) => Promise<T>): Promise<T> {
    let moved: T;
    try {
      moved = await transition(this.heldJobs.get(jobId));
    } catch (error) {
      this.heldJobs.drop(jobId);
      throw error;
    }
    if (moved && this.reservation(jobId)) this.heldJobs.keep(moved);
    return moved;
  }

  release(jobId: string): ReservationRecord | undefined {
    const existing = this.reservation(jobId);
    if (existing) this.sql.exec("DELETE FROM reservations WHERE job_id = ?", jobId);
    this.heldJobs.drop(jobId);
    return existing;
  }

  expiredOffers(now: number): ReservationRecord[] {
    return this.sql.exec("SELECT * FROM reservations WHERE state = 'offered' AND offer_expires_at <= ?", now).toArray().map(toReservation);
  }

  /** Stops its provider never confirmed within their deadline. */
  overdueStops(now: number): ReservationRecord[] {
    return this.sql.exec("SELECT * FROM reservations WHERE state = 'stopping' AND offer_expires_at <= ?", now).toArray().map(toReservation);
  }

  /** The next offer or stop deadline, for the alarm. */
  earliestOfferExpiry(): number | undefined {
    const row = this.sql.exec("SELECT MIN(offer_expires_at) AS at FROM reservations WHERE state IN ('offered', 'stopping')").toArray()[0];
    return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
  }
}

const GpuUuids = z.array(z.string());

function toProvider(row: Record<string, SqlStorageValue>): ProviderRecord {
  return {
    address: String(row.address),
    resources: row.resources ? ProviderResources.parse(JSON.parse(String(row.resources))) : null,
    pricing: row.pricing ? ProviderPricing.parse(JSON.parse(String(row.pricing))) : null,
    reputation: Number(row.reputation),
    connected: Number(row.connected) === 1,
    disconnectedAt: row.disconnected_at === null ? null : Number(row.disconnected_at),
  };
}

function toReservation(row: Record<string, SqlStorageValue>): ReservationRecord {
  return {
    jobId: String(row.job_id),
    address: String(row.address),
    gpuUuids: GpuUuids.parse(JSON.parse(String(row.gpu_uuids))),
    milliCpus: Number(row.milli_cpus),
    memoryMb: Number(row.memory_mb),
    state: String(row.state) as ReservationState,
    offerExpiresAt: Number(row.offer_expires_at),
    rateWeiPerSecond: String(row.rate_wei_per_second),
    maxAmountWei: String(row.max_amount_wei),
    chainJobId: String(row.chain_job_id),
  };
}
