// `npm start`'s templates: the shipped ones (templates/shipped.ts), their image
// pushed to the local registry and pinned by digest, published under the `pond`
// namespace by a local operator account.
import { join } from "node:path";
import { loadOrCreateKeyFile } from "../keys/keyFile.ts";
import { PondApiError, PondClient } from "../sdk/index.ts";
import { shippedTemplates } from "../templates/shipped.ts";
import type { LocalRegistry } from "./localRegistry.ts";

/** The busybox image scripts/build-test-images.sh builds. */
const LOCAL_IMAGE = "pond-test/busybox:2";

export async function publishShippedTemplates(options: { api: string; registry: LocalRegistry; stateDir: string }): Promise<string[]> {
  const image = await options.registry.push(LOCAL_IMAGE, "pond/busybox", "2");
  const { account } = await loadOrCreateKeyFile(join(options.stateDir, "operator.key"));
  const client = new PondClient({ baseUrl: options.api });
  await client.signIn(account);
  const refs: string[] = [];
  for (const definition of shippedTemplates(image)) {
    try {
      refs.push((await client.publishTemplate(definition)).ref);
    } catch (error) {
      // Published by an earlier start: a version never changes, so it is already right.
      if (!(error instanceof PondApiError && error.status === 409)) throw error;
      refs.push(`${definition.name}@${definition.version}`);
    }
  }
  return refs;
}
