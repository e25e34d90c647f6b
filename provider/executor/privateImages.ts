// Images pulled with a job's registry credentials (spec.registry_auth) stay in the engine like any other, warm for
// the next job. But a copy here must not open a private image to a job that could not pull it, whatever the job
// calls it: its repository, its image id or a prefix of it, or another repository whose manifest names the same
// image id (the engine then skips the download and files the copy under that name too). So the daemon keeps a
// ledger (on disk) of the image ids it pulled with credentials that were not in the engine before, each with the
// references it was pulled as; such a copy serves a job only once one of those references' registries, asked with
// the job's own credentials (none if it brought none), answers for it, as it would for a pull. While a pull with
// credentials is under way its repository is marked too (written before the pull, so a daemon killed mid-pull
// treats what it finds filed there as private). Kubernetes meets the same problem with AlwaysPullImages.
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";
import type Docker from "dockerode";
import { parseImageReference } from "../../protocol/imageReference.ts";
import type { JobSpec } from "../../protocol/jobSpec.ts";

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** An image in the engine: its id and the names it is filed under (RepoTags and RepoDigests). */
export interface HeldImage {
  id: string;
  names: string[];
}

/** A job may not use the engine's copy of its image: the job fails with this message, as for a pull refused. */
export class ImageAccessError extends Error {}

/** Registries asked about one copy at most: one per reference it was pulled as. */
const MAX_OWNER_CHECKS = 4;

/** The repository a reference names, as the engine files it (`busybox` is `docker.io/library/busybox`); undefined for no reference. */
export function repositoryOf(reference: string): string | undefined {
  return parseImageReference(reference)?.repository;
}

/** A job's registry credentials: its spec's registry_auth with the password the hub sent; none unless both are there. */
export function registryCredentialsOf(spec: Pick<JobSpec, "registry_auth">, password: string | undefined): RegistryCredentials | undefined {
  return spec.registry_auth && password !== undefined ? { username: spec.registry_auth.username, password } : undefined;
}

/** The X-Registry-Auth the engine pulls or asks with; the engine uses it for the reference's own registry. */
export function authConfigFor(image: string, credentials: RegistryCredentials): { username: string; password: string; serveraddress: string } {
  const repository = repositoryOf(image) ?? image;
  return { username: credentials.username, password: credentials.password, serveraddress: repository.slice(0, repository.indexOf("/")) };
}

interface Ledger {
  /** Repositories a pull with credentials is (or was, when the daemon died) under way for. */
  pending: string[];
  /** Image id → the references it was pulled as, with credentials. */
  owned: Record<string, string[]>;
}

export class PrivateImages {
  private writing: Promise<void> = Promise.resolve();
  /** Pulls with credentials under way, by repository, and the image ids the engine held before the first of them. */
  private readonly pulls = new Map<string, { count: number; before: Promise<Set<string> | undefined> }>();

  private constructor(
    private readonly file: string | undefined,
    private readonly pending: Set<string>,
    private readonly owned: Map<string, string[]>,
  ) {}

  /** The ledger kept in `file`, as an earlier daemon left it; what it found filed under a pending repository is now owned. */
  static async load(file: string, docker: Docker): Promise<PrivateImages> {
    const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    let saved: Ledger = { pending: [], owned: {} };
    try {
      if (text !== undefined) saved = parseLedger(JSON.parse(text));
    } catch (error) {
      throw new Error(
        `${file} is not the ledger of private images this daemon writes (${(error as Error).message}). Starting without it would let any job use the private images ` +
          "it lists: remove those images from Docker (docker image rm) and then the file, or restore it",
      );
    }
    const ledger = new PrivateImages(file, new Set(saved.pending), new Map(Object.entries(saved.owned)));
    await ledger.settleAfterRestart(docker);
    return ledger;
  }

  /** A ledger that lives as long as its daemon (tests, the bench's simulated fleet). */
  static inMemory(): PrivateImages {
    return new PrivateImages(undefined, new Set(), new Map());
  }

  /** Whether a job may use this copy only once its registry says so. */
  isPrivate(held: HeldImage): boolean {
    return this.owned.has(held.id) || held.names.some((name) => this.pending.has(repositoryOf(name) ?? ""));
  }

  /**
   * A pull with a job's credentials. Its repository is marked on disk before it starts; when the last such pull of the
   * repository ends, whatever the engine files there that it did not hold before is owned, and the mark goes.
   */
  async pullingWithCredentials<T>(docker: Docker, image: string, pull: () => Promise<T>): Promise<T> {
    const repository = repositoryOf(image);
    if (!repository) return pull();
    const under = this.pulls.get(repository) ?? { count: 0, before: imageIds(docker) };
    under.count += 1;
    this.pulls.set(repository, under);
    try {
      if (!this.pending.has(repository)) {
        this.pending.add(repository);
        await this.save();
      } else {
        // Marked in memory by a pull just begun, maybe not on disk yet (or not at all: then this pull writes it).
        await this.writing.catch(() => this.save());
      }
      // What the engine held before, read before any pull starts: a pull that only files an id already here adds none.
      await under.before;
      return await pull();
    } finally {
      await this.endPull(docker, repository, under);
    }
  }

  /**
   * Throws ImageAccessError unless the job may use the engine's copy `held` of `image`: one that is not private is
   * anyone's; a private one only once a registry it was pulled from answers the job's credentials for it.
   */
  async confirmAccess(docker: Docker, image: string, held: HeldImage, credentials: RegistryCredentials | undefined): Promise<void> {
    if (!this.isPrivate(held)) return;
    const pulledAs = [...(this.owned.get(held.id) ?? []), ...held.names.filter((name) => this.pending.has(repositoryOf(name) ?? ""))];
    for (const reference of [...new Set(pulledAs)].slice(0, MAX_OWNER_CHECKS)) {
      const asked = await docker
        .getImage(reference)
        .distribution(credentials ? { authconfig: authConfigFor(reference, credentials) } : {})
        .then(() => true, () => false);
      if (asked) return;
    }
    // Not the registry's answer: it would name where the private copy came from.
    throw new ImageAccessError(`the registry did not let this job read ${image} (asked ${credentials ? `as ${credentials.username}` : "without registry_auth"})`);
  }

  private async endPull(docker: Docker, repository: string, under: { count: number; before: Promise<Set<string> | undefined> }): Promise<void> {
    if (under.count === 1) {
      const [before, filed] = await Promise.all([under.before, filedUnder(docker, repository)]);
      // Another pull of it began meanwhile: the last one out settles the repository.
      if (under.count === 1 && before && filed) {
        for (const { id, reference } of filed) {
          if (!before.has(id) || this.owned.has(id)) this.own(id, reference);
        }
        this.pending.delete(repository);
        this.pulls.delete(repository);
        await this.save().catch(() => undefined);
        return;
      }
    }
    under.count -= 1;
    if (under.count === 0) this.pulls.delete(repository);
  }

  private async settleAfterRestart(docker: Docker): Promise<void> {
    const images = await docker.listImages().catch(() => undefined);
    if (!images) return;
    const present = new Set(images.map((info) => info.Id));
    for (const id of this.owned.keys()) if (!present.has(id)) this.owned.delete(id);
    for (const repository of this.pending) {
      for (const { id, reference } of filedAmong(images, repository)) this.own(id, reference);
    }
    this.pending.clear();
    await this.save();
  }

  private own(id: string, reference: string): void {
    const references = this.owned.get(id) ?? [];
    if (!references.includes(reference)) this.owned.set(id, [...references, reference].slice(-MAX_OWNER_CHECKS));
  }

  private async save(): Promise<void> {
    const { file } = this;
    if (!file) return;
    const ledger: Ledger = { pending: [...this.pending], owned: Object.fromEntries(this.owned) };
    // After the last write whatever became of it: one that failed (a full disk) fails its own pull, not every later one.
    this.writing = this.writing.catch(() => undefined).then(() => writeDurably(file, JSON.stringify(ledger)));
    await this.writing;
  }
}

/** The engine's copy of `image`, or undefined when it has none. */
export async function heldImage(docker: Docker, image: string): Promise<HeldImage | undefined> {
  return docker
    .getImage(image)
    .inspect()
    .then(
      (info) => ({ id: info.Id, names: [...(info.RepoTags ?? []), ...(info.RepoDigests ?? [])] }),
      () => undefined,
    );
}

function parseLedger(value: unknown): Ledger {
  const ledger = value as Partial<Ledger> | null;
  const strings = (list: unknown): list is string[] => Array.isArray(list) && list.every((item) => typeof item === "string");
  if (!ledger || !strings(ledger.pending) || typeof ledger.owned !== "object" || ledger.owned === null || !Object.values(ledger.owned).every(strings)) {
    throw new Error("it holds no pending list and owned map");
  }
  return ledger as Ledger;
}

async function imageIds(docker: Docker): Promise<Set<string> | undefined> {
  return docker.listImages().then((images) => new Set(images.map((info) => info.Id)), () => undefined);
}

/** The images the engine files under `repository`, each with one reference there (a digest's when it has one); undefined when unsure. */
async function filedUnder(docker: Docker, repository: string): Promise<Array<{ id: string; reference: string }> | undefined> {
  const images = await docker.listImages().catch(() => undefined);
  return images && filedAmong(images, repository);
}

function filedAmong(images: readonly Docker.ImageInfo[], repository: string): Array<{ id: string; reference: string }> {
  return images.flatMap((info) => {
    const names = [...(info.RepoDigests ?? []), ...(info.RepoTags ?? [])].filter((name) => repositoryOf(name) === repository);
    return names.length > 0 ? [{ id: info.Id, reference: names[0]! }] : [];
  });
}

/** Written whole or not at all, and on the disk before it resolves (a power loss leaves the old ledger, never an empty one). */
async function writeDurably(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  const handle = await open(partial, "w", 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(partial, file);
  const folder = await open(dirname(file), "r");
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
