// Results not yet acknowledged by the hub, kept on disk: a result made while
// the connection was down (or before a restart) is delivered when it is back.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "pino";
import { z } from "zod";
import { ResultMessage } from "../protocol/hubMessages.ts";

const OutboxFile = z.record(z.string(), z.unknown());

export class ResultOutbox {
  private results = new Map<string, ResultMessage>();
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly log: Logger,
  ) {}

  /**
   * Reads the saved results one by one: an entry that no longer parses (an older
   * daemon's format, a hand edit) is logged and skipped, never the whole file.
   * A file that is not JSON at all is moved aside, so it can be looked at.
   */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    const file = OutboxFile.safeParse(parseJson(text));
    if (!file.success) {
      const aside = `${this.file}.unreadable-${Date.now()}`;
      await rename(this.file, aside);
      this.log.error({ file: this.file, movedTo: aside }, "the outbox is not a JSON object; starting with an empty one");
      return;
    }
    for (const [key, entry] of Object.entries(file.data)) {
      const result = ResultMessage.safeParse(entry);
      if (result.success) this.results.set(result.data.job_id, result.data);
      else this.log.error({ entry: key, issues: result.error.issues.slice(0, 3) }, "skipping an outbox entry that is not a valid result");
    }
  }

  pending(): ResultMessage[] {
    return [...this.results.values()];
  }

  async add(result: ResultMessage): Promise<void> {
    this.results.set(result.job_id, result);
    await this.save();
  }

  async remove(jobId: string): Promise<boolean> {
    if (!this.results.delete(jobId)) return false;
    await this.save();
    return true;
  }

  /**
   * Written to a temporary file and renamed, so a crash never leaves half a
   * file; saves run one after another so two never share the temporary file.
   * Each save writes everything held, so one that failed (its caller got the
   * error) does not stop the next from trying again.
   */
  private save(): Promise<void> {
    this.saving = this.saving
      .catch(() => undefined)
      .then(async () => {
        await mkdir(dirname(this.file), { recursive: true });
        const temporary = `${this.file}.tmp`;
        await writeFile(temporary, JSON.stringify(Object.fromEntries(this.results)), { mode: 0o600 });
        await rename(temporary, this.file);
      });
    return this.saving;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
