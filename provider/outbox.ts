// Results not yet acknowledged by the hub, kept on disk: a result made while
// the connection was down (or before a restart) is delivered when it is back.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { ResultMessage } from "../protocol/hubMessages.ts";

const OutboxFile = z.record(z.string(), ResultMessage);

export class ResultOutbox {
  private results = new Map<string, z.infer<typeof ResultMessage>>();
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  async load(): Promise<void> {
    try {
      const parsed = OutboxFile.safeParse(JSON.parse(await readFile(this.file, "utf8")));
      if (parsed.success) this.results = new Map(Object.entries(parsed.data));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }

  pending(): z.infer<typeof ResultMessage>[] {
    return [...this.results.values()];
  }

  async add(result: z.infer<typeof ResultMessage>): Promise<void> {
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
   */
  private save(): Promise<void> {
    this.saving = this.saving.then(async () => {
      await mkdir(dirname(this.file), { recursive: true });
      const temporary = `${this.file}.tmp`;
      await writeFile(temporary, JSON.stringify(Object.fromEntries(this.results)), { mode: 0o600 });
      await rename(temporary, this.file);
    });
    return this.saving;
  }
}
