// What this provider holds warm, told to the hub so the matcher can send a job
// where its bytes already are: image digests in the local engine (with their
// sizes) and the input cache's hashes, each bounded (protocol warmLimits). Sent
// with every advertise, and again (debounced) whenever it changes: an image
// pulled, an input cached or evicted, or the engine changed behind Pond's back.
import type Docker from "dockerode";
import type { Logger } from "pino";
import { HUB_PROTOCOL_VERSION, warmLimits, type WarmSet } from "../protocol/hubMessages.ts";
import type { HubClient } from "./connection/hubClient.ts";
import type { InputCache } from "./dataplane/inputCache.ts";

const DEBOUNCE_MS = 1_000;
/** The engine can change without Pond (an operator's pull or prune): looked at again this often. */
const REFRESH_MS = 5 * 60_000;
const DIGEST = /@(sha256:[0-9a-f]{64})$/;

export interface WarmAdvertiserOptions {
  hub: HubClient;
  docker: Docker;
  cache?: InputCache;
  log: Logger;
  /** Images the operator asked to keep warm (--prepull): advertised first. */
  prepull?: readonly string[];
}

export class WarmAdvertiser {
  private lastSent: string | undefined;
  private latest: WarmSet | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refresher: NodeJS.Timeout | undefined;
  /** Images jobs used here, by reference, most recent last: advertised before older ones. */
  private readonly used = new Map<string, number>();

  constructor(private readonly options: WarmAdvertiserOptions) {
    options.cache?.on("change", () => this.changed());
  }

  start(): void {
    this.changed();
    this.refresher = setInterval(() => this.changed(), REFRESH_MS);
    this.refresher.unref();
  }

  stop(): void {
    clearInterval(this.refresher);
    clearTimeout(this.timer);
  }

  /** A job ran this image here: it moves up the list (a long list is cut from the least recent). */
  imageUsed(image: string): void {
    this.used.delete(image);
    this.used.set(image, Date.now());
    // Only the most recent few can make the advertised list; the rest would only grow the map.
    for (const oldest of this.used.keys()) {
      if (this.used.size <= warmLimits.images) break;
      this.used.delete(oldest);
    }
    this.changed();
  }

  /**
   * The set as last seen, for an advertise (sent at once on a welcome, so it is never waited for);
   * remembered as what the hub was told. Undefined before the first look: the set follows then.
   */
  forAdvertise(): WarmSet | undefined {
    this.lastSent = this.latest ? key(this.latest) : undefined;
    return this.latest;
  }

  /** Something may have changed: the hub hears the new set once things settle, if it differs. */
  changed(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.sendIfChanged(), DEBOUNCE_MS);
    this.timer.unref();
  }

  async current(): Promise<WarmSet> {
    const images = await this.options.docker.listImages();
    // Pre-pulled first, then those jobs used most recently, then the newest.
    const order = (image: Docker.ImageInfo): number[] => {
      const names = [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])];
      return [names.some((name) => this.options.prepull?.includes(name)) ? 1 : 0, Math.max(0, ...names.map((name) => this.used.get(name) ?? 0)), image.Created];
    };
    const ranked = images.map((image) => ({ image, order: order(image) })).sort((a, b) => b.order[0]! - a.order[0]! || b.order[1]! - a.order[1]! || b.order[2]! - a.order[2]!);
    const digests = new Map<string, number>();
    for (const { image } of ranked) {
      for (const reference of image.RepoDigests ?? []) {
        const digest = DIGEST.exec(reference)?.[1];
        if (digest && !digests.has(digest)) digests.set(digest, Math.max(0, image.Size));
      }
    }
    this.latest = {
      images: [...digests].slice(0, warmLimits.images).map(([digest, bytes]) => ({ digest, bytes })),
      inputs: this.options.cache?.hashes(warmLimits.inputs) ?? [],
    };
    return this.latest;
  }

  private async sendIfChanged(): Promise<void> {
    let warm: WarmSet;
    try {
      warm = await this.current();
    } catch (error) {
      return this.options.log.warn({ err: error }, "could not list the engine's images to advertise them warm");
    }
    const now = key(warm);
    // Not connected: the next welcome's advertise carries it.
    if (now === this.lastSent || !this.options.hub.connected) return;
    if (this.options.hub.send({ v: HUB_PROTOCOL_VERSION, type: "warm", warm })) {
      this.lastSent = now;
      this.options.log.debug({ images: warm.images.length, inputs: warm.inputs.length }, "told the hub what is warm here");
    }
  }
}

/** Order-free: the hub indexes the set, so a new order alone is no news. */
function key(warm: WarmSet): string {
  return JSON.stringify([warm.images.map((image) => `${image.digest}:${image.bytes}`).sort(), [...warm.inputs].sort()]);
}
