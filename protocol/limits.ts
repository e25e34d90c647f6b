// Bounds on what a job may ask for. One place, so the API, the provider and
// the docs agree on them.
export const jobLimits = {
  maxGpus: 16,
  maxGpuVramMb: 262_144,
  minCpus: 0.1,
  maxCpus: 256,
  minMemoryMb: 16,
  maxMemoryMb: 2_097_152,
  minTimeoutS: 1,
  maxTimeoutS: 86_400,
  defaultMatchTimeoutS: 600,
  maxMatchTimeoutS: 86_400,
  maxEnvVars: 128,
  maxEnvBytes: 32 * 1024,
  maxCmdArgs: 256,
  maxCmdBytes: 64 * 1024,
  maxInputFiles: 64,
  maxInputBytes: 512 * 1024,
  /** Files that travel beside the spec (`input_files`), peer to peer or through the R2 relay. */
  maxInputFileEntries: 10_000,
  /** Their total: 16 GiB, what a provider's disk and a creator's upload should bear for one job. */
  maxInputFilesBytes: 16 * 1024 * 1024 * 1024,
  maxPathLength: 255,
  maxImageLength: 512,
} as const;

/** Largest request body the API reads. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Most files a job may leave in /outputs: the manifest's bound, checked by the provider too. */
export const MAX_OUTPUT_FILES = 10_000;

/** Longest free-text fields in provider → hub messages (protocol/hubMessages.ts). */
export const hubMessageLimits = {
  resultError: 2000,
  resultWarning: 500,
  statusDetail: 500,
  declineReason: 500,
} as const;
