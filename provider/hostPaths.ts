// What a creator reads never names the provider's own paths: a job's folders
// are shown as the container sees them (/inputs, /outputs), the rest of the
// provider's data folder by what it is.
export function withoutHostPaths(text: string, workDir: string, dataDir: string): string {
  const replacements: Array<[string, string]> = [
    [`${workDir}/outputs`, "/outputs"],
    [`${workDir}/inputs`, "/inputs"],
    [workDir, "<the job's folder on the provider>"],
    [dataDir, "<the provider's data folder>"],
  ];
  // Longest first (the job's folder lies inside the data folder), and whole names only: job_1 is not job_10.
  return replacements.reduce((result, [hostPath, shown]) => result.replace(new RegExp(`${escaped(hostPath)}(?![^/\\s'"\`),:;])`, "g"), shown), text);
}

function escaped(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
