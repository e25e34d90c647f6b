// Docker image reference grammar, after distribution/reference (the grammar the
// docker CLI and every registry use): [domain[:port]/]path[:tag][@digest].
import { classifyIp } from "./ipRanges.ts";

const alphaNumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|-+)";
const pathComponent = `${alphaNumeric}(?:${separator}${alphaNumeric})*`;
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domain = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const name = `(?:${domain}/)?${pathComponent}(?:/${pathComponent})*`;
const tag = "[\\w][\\w.-]{0,127}";
const digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";

const referencePattern = new RegExp(`^(${name})(?::(${tag}))?(?:@(${digest}))?$`);

/** Longest repository name a registry accepts. */
const MAX_NAME_LENGTH = 255;

export interface ImageReference {
  name: string;
  tag?: string;
  digest?: string;
  /** The registry host the name starts with, lower-cased, without a port or brackets; undefined for Docker Hub. */
  registryHost?: string;
  /** The repository as the engine files it: `busybox` is `docker.io/library/busybox`. */
  repository: string;
}

/** Docker Hub's names: `docker.io/x` and `x` are one repository. */
const DOCKER_HUB = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** Parses an image reference, or returns undefined when it is not one. */
export function parseImageReference(reference: string): ImageReference | undefined {
  const match = referencePattern.exec(reference);
  if (!match || match[1]!.length > MAX_NAME_LENGTH) return undefined;
  // As docker reads it: the first part is a registry only if it looks like a host
  // (has a dot or a port, or is localhost); otherwise it is a lower-case path.
  const [first, ...rest] = match[1]!.split("/");
  const isHost = rest.length > 0 && (first!.includes(".") || first!.includes(":") || first === "localhost" || first!.startsWith("["));
  if (!isHost && first !== first!.toLowerCase()) return undefined;
  const [, imageName, imageTag, imageDigest] = match;
  const host = isHost ? (first!.startsWith("[") ? first!.slice(1, first!.indexOf("]")) : first!.replace(/:\d+$/, "")).toLowerCase() : undefined;
  const hub = host === undefined || DOCKER_HUB.has(host);
  const path = isHost ? rest.join("/") : imageName!;
  return {
    name: imageName!,
    ...(imageTag ? { tag: imageTag } : {}),
    ...(imageDigest ? { digest: imageDigest } : {}),
    ...(hub ? {} : { registryHost: host }),
    repository: hub ? `docker.io/${path.includes("/") ? "" : "library/"}${path}` : imageName!,
  };
}

/**
 * Why no provider would pull `reference`: its registry is this machine (`localhost`) or an address that is not
 * public, which providers refuse (provider/executor/registryHost.ts; a name is resolved there, by each provider).
 * Undefined when the name alone does not say.
 */
export function unreachableRegistry(reference: string): string | undefined {
  const host = parseImageReference(reference)?.registryHost;
  if (host === undefined) return undefined;
  if (host === "localhost") return "its registry is localhost, the machine it is named on: push the image to a registry the providers can reach";
  const kind = classifyIp(host);
  if (kind === "not-an-ip" || kind === "public") return undefined;
  return `its registry ${host} is not a public address, and providers pull only from public registries: push the image to one they can reach`;
}
