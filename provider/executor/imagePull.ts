// Gets a job's image per the pull policy, reporting progress while it pulls:
// a failed pull (unknown tag, denied, disk full) comes as an event inside a
// 200 stream, and an aborted one may simply end the stream; both are failures.
// A copy already here is used only as far as privateImages.ts allows.
import type Docker from "dockerode";
import type { Logger } from "pino";
import type { ImageArrival } from "../../protocol/transferMetrics.ts";
import { authConfigFor, heldImage, type HeldImage, type PrivateImages, type RegistryCredentials } from "./privateImages.ts";
import { PullProgress, type PullEvent } from "./pullProgress.ts";
import { checkRegistryHost, type RegistryHostPolicy } from "./registryHost.ts";

export type PullPolicy = "missing" | "always" | "never";

const PROGRESS_EVERY_MS = 1_000;
/** The longest a pull may take; the job's own timeout starts only once it runs. */
const PULL_TIMEOUT_MS = 30 * 60_000;

export interface ImageAccess {
  privateImages: PrivateImages;
  /** Where a job's pull may go (registryHost.ts). */
  registryHosts: RegistryHostPolicy;
  /** The job's registry_auth with its password: what the pull, or the check of a private copy, asks with. */
  credentials?: RegistryCredentials | undefined;
}

/** The job's image as it will run: whether it was warm (in the engine already: its layers move no bytes), and its id. */
export interface ImageReady {
  arrival: ImageArrival;
  /** What the container is made from: the copy that was checked, whatever a later pull does to the name. */
  imageId: string;
}

export async function ensureImage(
  docker: Docker,
  image: string,
  policy: PullPolicy,
  onPhase: (phase: "pulling", detail: string) => void,
  jobSignal: AbortSignal,
  access?: ImageAccess,
): Promise<ImageReady> {
  const started = performance.now();
  const held = await heldImage(docker, image);
  const ready = async (copy: HeldImage): Promise<ImageReady> => {
    await access?.privateImages.confirmAccess(docker, image, copy, access.credentials);
    return { arrival: { warm: held !== undefined, ms: Math.round(performance.now() - started) }, imageId: copy.id };
  };
  if (policy === "never" || (policy === "missing" && held)) {
    if (!held) throw new Error("the image is not on this host and the pull policy is 'never'");
    return ready(held);
  }
  if (access) await checkRegistryHost(image, access.registryHosts);
  const credentials = access?.credentials;
  const pull = () => pullImage(docker, image, onPhase, jobSignal, credentials);
  // Marked before any byte arrives: a daemon killed mid-pull still knows the copy is private.
  await (credentials ? access.privateImages.pullingWithCredentials(docker, image, pull) : pull());
  const pulled = await heldImage(docker, image);
  if (!pulled) throw new Error("the pull ended but the engine has no such image");
  // Checked after a pull too: one whose manifest names a private copy's id lands on that copy without a download.
  return ready(pulled);
}

/** One pull, its progress reported every second; a failure in the stream, an abort or the time limit rejects. */
async function pullImage(docker: Docker, image: string, onPhase: (phase: "pulling", detail: string) => void, jobSignal: AbortSignal, credentials: RegistryCredentials | undefined): Promise<void> {
  onPhase("pulling", `pulling ${image}`);
  const progress = new PullProgress();
  let lastReport = 0;
  const deadline = AbortSignal.timeout(PULL_TIMEOUT_MS);
  const signal = AbortSignal.any([jobSignal, deadline]);
  const why = () => (deadline.aborted ? new Error(`the pull did not finish within ${PULL_TIMEOUT_MS / 60_000} minutes`) : new Error("the pull was canceled"));
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.pull(image, { abortSignal: signal, ...(credentials ? { authconfig: authConfigFor(image, credentials) } : {}) });
  } catch (error) {
    throw signal.aborted ? why() : error;
  }
  await new Promise<void>((resolve, reject) => {
    let failed: Error | undefined;
    // An aborted request may just end the stream, which followProgress reports as success.
    const onAbort = () => reject(why());
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();
    docker.modem.followProgress(
      stream,
      (error: Error | null) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) return reject(why());
        const reason = error ?? failed;
        return reason ? reject(reason) : resolve();
      },
      // Docker reports a failed pull (unknown tag, denied, disk full) as an event in a 200 stream.
      (event: PullEvent & { error?: string; errorDetail?: { message?: string } }) => {
        if (event.error || event.errorDetail) {
          failed ??= new Error(event.errorDetail?.message ?? event.error ?? "the registry reported an error");
          return;
        }
        progress.update(event);
        const now = Date.now();
        if (now - lastReport >= PROGRESS_EVERY_MS) {
          lastReport = now;
          onPhase("pulling", progress.describe(image));
        }
      },
    );
  });
}

/**
 * The image as the engine has it now, when the policy lets a job use it without a pull and it is not a private copy
 * (whose use waits for the job's credentials and the registry's answer, at the run); never pulls.
 */
export async function imageAtHand(docker: Docker, image: string, policy: PullPolicy, privateImages: PrivateImages): Promise<ImageReady | undefined> {
  if (policy === "always") return undefined;
  const started = performance.now();
  const held = await heldImage(docker, image);
  if (!held || privateImages.isPrivate(held)) return undefined;
  return { arrival: { warm: true, ms: Math.round(performance.now() - started) }, imageId: held.id };
}

/**
 * The operator's --prepull images, one after another, each pulled if missing: it then stays (Pond
 * never removes an image) and is advertised warm. A failure is logged and the next one tried.
 */
export async function prepullImages(docker: Docker, images: readonly string[], log: Logger, signal = new AbortController().signal): Promise<string[]> {
  const ready: string[] = [];
  for (const image of images) {
    try {
      const { warm, ms } = (await ensureImage(docker, image, "missing", (_phase, detail) => log.debug({ image, detail }, "pre-pulling"), signal)).arrival;
      log.info({ image, ms, alreadyThere: warm }, "pre-pulled an image; it stays warm");
      ready.push(image);
    } catch (error) {
      log.error({ err: error, image }, "could not pre-pull an image");
    }
  }
  return ready;
}
