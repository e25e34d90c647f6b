// Checkpoints: a long job's way to survive losing its provider. A job whose spec
// has `checkpoint` finds /outputs/checkpoint/ (POND_CHECKPOINT_DIR) and saves
// its state there; its provider uploads what it finds every `interval_s` and
// tells the hub, which keeps the latest set on the job. Should the job be
// requeued, the next provider is offered that set and puts it back in place
// before the container starts, so training goes on from there instead of from
// the start. A checkpoint is its writer's word, like a result: see
// docs/creators.md, "Checkpoints".
import { z } from "zod";
import { checkpointLimits, jobLimits } from "./limits.ts";
import { ManifestFile } from "./manifest.ts";
import { outputObjectKey } from "./uploads.ts";

/** The folder under /outputs a job saves its checkpoint in; what is there at the end is an output like any other. */
export const CHECKPOINT_FOLDER = "checkpoint";
/** Where the container finds it, also in its environment as POND_CHECKPOINT_DIR. */
export const CHECKPOINT_DIR_IN_CONTAINER = `/outputs/${CHECKPOINT_FOLDER}`;

/** The longest path a checkpoint file may have: it is uploaded as the output checkpoint/<path>, which must be an output path. */
export const MAX_CHECKPOINT_PATH = jobLimits.maxPathLength - CHECKPOINT_FOLDER.length - 1;

/** A checkpoint's files, each path relative to the checkpoint folder, uploaded as the output checkpoint/<path>. */
export const CheckpointFiles = z
  .array(ManifestFile)
  .min(1)
  .max(checkpointLimits.maxFiles)
  .refine((files) => new Set(files.map((file) => file.path)).size === files.length, "must not name a path twice")
  .refine((files) => files.every((file) => file.path.length <= MAX_CHECKPOINT_PATH), "must have paths short enough to be outputs under checkpoint/")
  // A file and a folder of one name cannot both be put back.
  .refine((files) => !files.some((file) => files.some((other) => other.path.startsWith(`${file.path}/`))), "must not name a file and a path inside it");
export type CheckpointFiles = z.infer<typeof CheckpointFiles>;

/** One checkpoint the hub kept: its files, and when, by whom and in which attempt it was saved. */
export const CheckpointSet = z
  .object({
    files: CheckpointFiles,
    bytes: z.int().min(0),
    saved_at: z.int().meta({ description: "When the hub kept it, ms since the epoch" }),
    provider: z.string().regex(/^0x[0-9a-f]{40}$/).meta({ description: "The provider that saved it: a checkpoint is its writer's word" }),
    attempt: z.int().min(0).meta({ description: "The job's attempt it was saved in (0 the first)" }),
  })
  .strict()
  .meta({ id: "CheckpointSet" });
export type CheckpointSet = z.infer<typeof CheckpointSet>;

/**
 * The latest checkpoint the hub kept for a job: what `GET /v1/jobs/{id}` shows and a requeued job's offer carries.
 * `resumed_from`: the one the attempt that saved it started from, once a later attempt saves its own (a challenge's
 * mediator re-runs that attempt from the same one, so an honest provider is judged on its own work).
 */
export const SavedCheckpoint = CheckpointSet.extend({
  resumed_from: CheckpointSet.optional().meta({ description: "The checkpoint the attempt that saved this one resumed from, if it resumed" }),
})
  .strict()
  .meta({ id: "SavedCheckpoint" });
export type SavedCheckpoint = z.infer<typeof SavedCheckpoint>;

/** The checkpoint the job's current attempt (`attempt`) started from, if any: the latest, when an earlier attempt saved it. */
export function resumedFromOf(checkpoint: SavedCheckpoint | null | undefined, attempt: number): CheckpointSet | undefined {
  if (!checkpoint) return undefined;
  if (checkpoint.attempt < attempt) return setOf(checkpoint);
  return checkpoint.resumed_from;
}

/** A checkpoint without what it resumed from. */
function setOf(checkpoint: SavedCheckpoint): CheckpointSet {
  const { resumed_from: _resumedFrom, ...set } = checkpoint;
  return set;
}

/** The output path a checkpoint file is uploaded under. */
export function checkpointOutputPath(path: string): string {
  return `${CHECKPOINT_FOLDER}/${path}`;
}

/** Where R2 keeps a checkpoint file of the job: the key of the output it was uploaded as. */
export function checkpointObjectKey(jobId: string, file: Pick<ManifestFile, "path" | "sha256">): string {
  return outputObjectKey(jobId, checkpointOutputPath(file.path), file.sha256);
}
