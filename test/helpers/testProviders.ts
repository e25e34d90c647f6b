// The provider daemons one test file starts: each test's removed after it, with
// every container it left, so the next test meets only its own.
import { removeContainersOf } from "./docker.ts";
import { startProvider, type ProviderProcess } from "./providerProcess.ts";

export class TestProviders {
  private readonly started: ProviderProcess[] = [];

  async start(api: string, flags: string[]): Promise<ProviderProcess> {
    const p = await startProvider(api, flags);
    this.started.push(p);
    return p;
  }

  /** Starts `p` again with its key and data folder (after a kill, say). */
  async restart(p: ProviderProcess): Promise<ProviderProcess> {
    const again = await p.restart();
    this.started.push(again);
    return again;
  }

  async removeAll(): Promise<void> {
    // The latest first: a restarted daemon shares its data folder with the handle it replaced.
    for (const p of this.started.splice(0).reverse()) {
      await p.remove();
      await removeContainersOf(p.address);
    }
  }
}
