// `npm start`'s templates: the shipped ones (templates/shipped.ts) and the ML ones (templates/ml.ts),
// their images pushed to the local registry and pinned by digest, published under the `pond`
// namespace by a local operator account.
import { join } from "node:path";
import { loadOrCreateKeyFile } from "../keys/keyFile.ts";
import type { TemplateDefinitionInput } from "../protocol/template.ts";
import { PondApiError, PondClient } from "../sdk/index.ts";
import { mlTemplates } from "../templates/ml.ts";
import { shippedTemplates } from "../templates/shipped.ts";
import type { LocalRegistry } from "./localRegistry.ts";

/** The busybox image scripts/build-test-images.sh builds. */
const LOCAL_IMAGE = "pond-test/busybox:2";
/** Where the ML image goes in the local registry. */
export const ML_REPOSITORY = "pond/pytorch-digits";

interface PublishOptions {
  api: string;
  registry: LocalRegistry;
  stateDir: string;
  /** Where a version published earlier with another image or command is said (default: stderr). */
  warn?: (text: string) => void;
}

export async function publishShippedTemplates(options: PublishOptions): Promise<string[]> {
  const image = await options.registry.push(LOCAL_IMAGE, "pond/busybox", "2");
  return publishTemplates(options, shippedTemplates(image));
}

/** `localImage` is what scripts/build-ml-image.sh built (scripts/mlImage.ts): pushed under its own tag, so the digest pins its code. */
export async function publishMlTemplates(options: PublishOptions & { localImage: string }): Promise<string[]> {
  const tag = options.localImage.slice(options.localImage.lastIndexOf(":") + 1);
  const image = await options.registry.push(options.localImage, ML_REPOSITORY, tag);
  // Earlier builds' pushes (each a GB when the base changed) are no longer kept alive by their names here.
  await options.registry.forgetLocal(ML_REPOSITORY, options.localImage);
  return publishTemplates(options, mlTemplates(image));
}

/** Publishes each version not published yet, and says which ones were published earlier with another image or command. */
export async function publishTemplates(options: Omit<PublishOptions, "registry">, definitions: TemplateDefinitionInput[]): Promise<string[]> {
  const { account } = await loadOrCreateKeyFile(join(options.stateDir, "operator.key"));
  const client = new PondClient({ baseUrl: options.api });
  await client.signIn(account);
  const refs: string[] = [];
  for (const definition of definitions) {
    try {
      refs.push((await client.publishTemplate(definition)).ref);
    } catch (error) {
      if (!(error instanceof PondApiError && error.status === 409)) throw error;
      // Published by an earlier start. A version never changes: if this checkout's image or
      // command differs, that version's runs still use the earlier ones, which must be said.
      const ref = `${definition.name}@${definition.version}`;
      const published = await client.getTemplate(ref);
      const changed = published.image !== definition.image ? "image" : JSON.stringify(published.cmd) !== JSON.stringify(definition.cmd ?? null) ? "command" : undefined;
      if (changed) {
        (options.warn ?? ((text) => process.stderr.write(`${text}\n`)))(
          `pond: ${ref} was published by an earlier start with another ${changed} (${changed === "image" ? published.image : JSON.stringify(published.cmd)}); a version never changes, so its runs keep that one. Give the template a new version in templates/ to publish this checkout's, or start from an empty state (remove .pond/).`,
        );
      }
      refs.push(ref);
    }
  }
  return refs;
}
