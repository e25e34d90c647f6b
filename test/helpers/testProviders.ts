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

  async removeAll(): Promise<void> {
    for (const p of this.started.splice(0)) {
      await p.remove();
      await removeContainersOf(p.address);
    }
  }
}
