// Images pulled with a job's registry credentials (spec.registry_auth) stay in the engine like any other, warm for
// the next job. But a copy here must not open a private image to a job that could not pull it, whether it names
// the image by its repository, by its image id, or by an id's prefix. So the daemon keeps the repositories it
// pulled with credentials (on disk, written before the pull, so a kill -9 mid-pull forgets none), and a job whose
// image the engine holds under such a repository uses that copy only after the registry, asked with the job's own
// credentials (none if it brought none), answers for the job's reference as it would for a pull. Kubernetes meets
// the same problem with AlwaysPullImages and its check of images pulled with a secret.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type Docker from "dockerode";
import { parseImageReference } from "../../protocol/imageReference.ts";

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** A job may not use the engine's copy of its image: the job fails with this message, as for a pull refused. */
export class ImageAccessError extends Error {}

/** The repository a reference names, as the engine files it (`busybox` is `docker.io/library/busybox`); undefined for no reference. */
export function repositoryOf(reference: string): string | undefined {
  const name = parseImageReference(reference)?.name;
  if (!name) return undefined;
  const [first, ...rest] = name.split("/");
  const isHost = rest.length > 0 && (first!.includes(".") || first!.includes(":") || first === "localhost" || first!.startsWith("["));
  if (!isHost) return `docker.io/${rest.length === 0 ? "library/" : ""}${name}`;
  return first === "index.docker.io" ? `docker.io/${rest.join("/")}` : name;
}

/** The X-Registry-Auth the engine pulls or asks with; the engine uses it for the reference's own registry. */
export function authConfigFor(image: string, credentials: RegistryCredentials): { username: string; password: string; serveraddress: string } {
  const repository = repositoryOf(image) ?? image;
  return { username: credentials.username, password: credentials.password, serveraddress: repository.slice(0, repository.indexOf("/")) };
}

export class PrivateImages {
  private writing: Promise<void> = Promise.resolve();
  /** Pulls with credentials under way, by repository. */
  private readonly pulls = new Map<string, number>();

  private constructor(
    private readonly file: string | undefined,
    private readonly repositories: Set<string>,
  ) {}

  /** The ledger kept in `file`, as an earlier daemon left it (none yet: empty). */
  static async load(file: string): Promise<PrivateImages> {
    const saved = await readFile(file, "utf8").then(
      (text) => JSON.parse(text) as unknown,
      (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return [];
        throw error;
      },
    );
    if (!Array.isArray(saved) || !saved.every((name) => typeof name === "string")) throw new Error(`${file} is not a list of repository names; move it aside to start over`);
    return new PrivateImages(file, new Set(saved));
  }

  /** A ledger that lives as long as its daemon (tests, the bench's simulated fleet). */
  static inMemory(): PrivateImages {
    return new PrivateImages(undefined, new Set());
  }

  /**
   * A pull with a job's credentials: `image`'s repository is marked private on disk before it starts. Should it fail,
   * the mark goes again when no other such pull of the repository is under way and the engine files no image under it,
   * so jobs that name repositories they cannot pull do not grow the ledger.
   */
  async pullingWithCredentials<T>(docker: Docker, image: string, pull: () => Promise<T>): Promise<T> {
    const repository = repositoryOf(image);
    if (!repository) return pull();
    this.pulls.set(repository, (this.pulls.get(repository) ?? 0) + 1);
    try {
      if (!this.repositories.has(repository)) {
        this.repositories.add(repository);
        await this.save();
      } else {
        // Marked in memory by a pull just begun, maybe not on disk yet (or not at all: then this pull waits for another write).
        await this.writing.catch(() => this.save());
      }
      return await pull();
    } catch (error) {
      if (this.pulls.get(repository) === 1 && !(await filesUnder(docker, repository))) {
        this.repositories.delete(repository);
        await this.save();
      }
      throw error;
    } finally {
      const left = this.pulls.get(repository)! - 1;
      if (left === 0) this.pulls.delete(repository);
      else this.pulls.set(repository, left);
    }
  }

  private async save(): Promise<void> {
    const { file } = this;
    if (!file) return;
    const names = JSON.stringify([...this.repositories]);
    // After the last write whatever became of it: one that failed (a full disk) fails its own pull, not every later one.
    this.writing = this.writing.catch(() => undefined).then(async () => {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(`${file}.partial`, names, { mode: 0o600 });
      await rename(`${file}.partial`, file);
    });
    await this.writing;
  }

  /** Whether the engine's image named by `names` (its RepoTags and RepoDigests) came, under any of them, with credentials. */
  holdsPrivately(names: readonly string[]): boolean {
    return names.some((name) => {
      const repository = repositoryOf(name);
      return repository !== undefined && this.repositories.has(repository);
    });
  }

  /**
   * Throws ImageAccessError unless the job may use the engine's copy of `image`: a copy that is not private is anyone's;
   * a private one only under the repository it is filed under, and once the registry answers the job's credentials.
   */
  async confirmAccess(docker: Docker, image: string, names: readonly string[], credentials: RegistryCredentials | undefined): Promise<void> {
    if (!this.holdsPrivately(names)) return;
    const repository = repositoryOf(image);
    if (!repository || !names.some((name) => repositoryOf(name) === repository)) {
      throw new ImageAccessError(`${image} is held on this provider as a private image under another name: name it by its registry's repository, with registry_auth`);
    }
    try {
      await docker.getImage(image).distribution(credentials ? { authconfig: authConfigFor(image, credentials) } : {});
    } catch (error) {
      const answer = (error as { json?: { message?: string } }).json?.message ?? (error as Error).message;
      const asked = credentials ? `as ${credentials.username}` : "without registry_auth";
      throw new ImageAccessError(`the registry did not let this job read ${image} (asked ${asked}): ${answer}`);
    }
  }
}

/** The names the engine files its copy of `image` under, or undefined when it has none. */
export async function heldImageNames(docker: Docker, image: string): Promise<string[] | undefined> {
  return docker
    .getImage(image)
    .inspect()
    .then(
      (info) => [...(info.RepoTags ?? []), ...(info.RepoDigests ?? [])],
      () => undefined,
    );
}

/** Whether the engine files any image under `repository` (when unsure, yes: a mark is never dropped on a guess). */
async function filesUnder(docker: Docker, repository: string): Promise<boolean> {
  const images = await docker.listImages().catch(() => undefined);
  if (!images) return true;
  return images.some((info) => [...(info.RepoTags ?? []), ...(info.RepoDigests ?? [])].some((name) => repositoryOf(name) === repository));
}
