// Docker image reference grammar, after distribution/reference (the grammar the
// docker CLI and every registry use): [domain[:port]/]path[:tag][@digest].
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
}

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
  return {
    name: imageName!,
    ...(imageTag ? { tag: imageTag } : {}),
    ...(imageDigest ? { digest: imageDigest } : {}),
  };
}
