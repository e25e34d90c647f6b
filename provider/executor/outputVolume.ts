// /outputs as a filesystem of its own, the size of the provider's cap: a sparse
// file formatted ext4 and loop-mounted (nosuid, nodev, noexec) on the job's
// outputs folder, so a write past the cap gets ENOSPC however fast the disk is.
// Its inode budget bounds how many files and folders a job can make. That
// needs root and a loop device; elsewhere /outputs is a plain folder and only
// the watch (outputWatcher.ts) bounds it. Unmounted when the job ends, and
// leftovers of a crash unmounted at start.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, rmdir, statfs, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { MAX_OUTPUT_FILES } from "../../protocol/limits.ts";
import type { VolumeUsage } from "./outputWatcher.ts";

const run = promisify(execFile);

/** Room past the cap, so a job that writes without end goes over it (and is told so) before ENOSPC. */
export const OUTPUT_SLACK_BYTES = 1024 * 1024;
/** How much more room than cap + slack a volume may end up with (ext4 sizes in whole blocks and groups). */
export const VOLUME_SIZE_TOLERANCE = 256 * 1024;
const IMAGE_NAME = "outputs.img";
const SBIN = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

export type OutputVolumeKind = "filesystem" | "folder";

export interface OutputSupport {
  kind: OutputVolumeKind;
  /** Why it is a plain folder, worded for `doctor` and the log. */
  reason?: string;
}

function tool(name: string): string | undefined {
  return SBIN.map((dir) => join(dir, name)).find((path) => existsSync(path));
}

/** Tries it for real once (format, mount, unmount a tiny volume in `dataDir`): the answer the daemon goes by. */
export async function probeOutputFilesystem(dataDir: string): Promise<OutputSupport> {
  const folder = (why: string): OutputSupport => ({
    kind: "folder",
    reason: `/outputs is a plain folder (${why}): the output cap is enforced by watching it, so a job may overshoot it by what the disk writes between two looks. Run the daemon as root on a host with loop devices and e2fsprogs for a size-limited /outputs.`,
  });
  if (process.getuid?.() !== 0) return folder("the daemon is not root");
  if (!existsSync("/dev/loop-control")) return folder("no loop devices (/dev/loop-control)");
  if (!tool("mkfs.ext4")) return folder("mkfs.ext4 not found: install e2fsprogs");
  const dir = await mkdtemp(join(dataDir, "probe-"));
  try {
    await mountOutputVolume(dir, 1024 * 1024);
    await unmountOutputVolume(dir);
    return { kind: "filesystem" };
  } catch (error) {
    return folder(`a loop mount failed: ${(error as Error).message.split("\n")[0]}`);
  } finally {
    await unmountOutputVolume(dir).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Creates `<workDir>/outputs`, a filesystem with room for `capBytes` (plus OUTPUT_SLACK_BYTES) when `kind` says so. */
export async function prepareOutputs(workDir: string, capBytes: number, kind: OutputVolumeKind): Promise<string> {
  const outputsDir = join(workDir, "outputs");
  await unmountOutputVolume(workDir);
  await mkdir(outputsDir, { recursive: true });
  if (kind === "filesystem") await mountOutputVolume(workDir, capBytes);
  // The container runs as nobody; it must be able to write its outputs.
  await chmod(outputsDir, 0o777);
  return outputsDir;
}

async function mountOutputVolume(workDir: string, capBytes: number): Promise<void> {
  const outputsDir = join(workDir, "outputs");
  const image = join(workDir, IMAGE_NAME);
  await mkdir(outputsDir, { recursive: true });
  const wanted = capBytes + OUTPUT_SLACK_BYTES;
  // Every file and folder takes an inode; the manifest allows MAX_OUTPUT_FILES of each.
  const inodes = 2 * MAX_OUTPUT_FILES + 16;
  // ext4's own metadata and its reserve (up to 16 MiB) come first. They depend on the
  // size a little, so the size is corrected from what a mount really offers.
  let size = wanted + inodes * 256 + Math.min(wanted / 50, 16 * 1024 * 1024) + 1024 * 1024;
  for (let attempt = 1; ; attempt++) {
    // Sparse: only what the job writes takes room on the provider's disk.
    await writeFile(image, "");
    await truncate(image, Math.ceil(size));
    await run(tool("mkfs.ext4") ?? "mkfs.ext4", ["-q", "-F", "-m", "0", "-O", "^has_journal,^resize_inode", "-N", String(inodes), "-b", "4096", image]);
    await run(tool("mount") ?? "mount", ["-o", "loop,nosuid,nodev,noexec,noinit_itable", image, outputsDir]);
    const fs = await statfs(outputsDir);
    const room = fs.bavail * fs.bsize;
    if ((room >= wanted && room - wanted <= VOLUME_SIZE_TOLERANCE) || (room >= wanted && attempt >= 4)) break;
    await run(tool("umount") ?? "umount", [outputsDir]);
    if (attempt >= 4) throw new Error(`a volume of ${Math.ceil(size)} bytes offers ${room}, less than the ${wanted} needed`);
    size += wanted - room + (room < wanted ? 64 * 1024 : 0);
  }
  // Not an output: a job would see it in /outputs.
  await rmdir(join(outputsDir, "lost+found")).catch(() => undefined);
}

/** What an empty volume, as made here, already uses: the root folder's block, and ext4's reserved inodes. */
const EMPTY_VOLUME = { blocks: 1, inodes: 10 };

/**
 * What a job wrote to its volume, from the filesystem's counters: one call,
 * however many files. Files and folders are counted together (each takes an inode).
 */
export async function volumeUsage(outputsDir: string): Promise<VolumeUsage> {
  const fs = await statfs(outputsDir);
  return {
    bytes: Math.max(0, fs.blocks - fs.bfree - EMPTY_VOLUME.blocks) * fs.bsize,
    entries: Math.max(0, fs.files - fs.ffree - EMPTY_VOLUME.inodes),
  };
}

/** Unmounts `<workDir>/outputs` if it is a mount, and removes its image. Safe to call when there is none. */
export async function unmountOutputVolume(workDir: string): Promise<void> {
  const outputsDir = join(workDir, "outputs");
  if ((await mountPoints()).includes(outputsDir)) await run(tool("umount") ?? "umount", [outputsDir]);
  await rm(join(workDir, IMAGE_NAME), { force: true });
}

/** Which kind `<workDir>/outputs` is now (a re-adopted job's volume is still mounted). */
export async function outputVolumeOf(workDir: string): Promise<OutputVolumeKind> {
  return (await mountPoints()).includes(join(workDir, "outputs")) ? "filesystem" : "folder";
}

/** Whether `<workDir>/outputs` is a volume mounted and still empty: one made ahead (spareJobFolders.ts), ready for a job. */
export async function freshVolumeIn(workDir: string): Promise<boolean> {
  if ((await outputVolumeOf(workDir)) !== "filesystem") return false;
  return (await readdir(join(workDir, "outputs"))).length === 0;
}

/** Output volumes left mounted under `jobsRoot` by a daemon that died, except those of `keep` (adopted jobs' folders). */
export async function leftoverVolumes(jobsRoot: string, keep: ReadonlySet<string>): Promise<string[]> {
  const prefix = `${jobsRoot}/`;
  return (await mountPoints())
    .filter((point) => point.startsWith(prefix) && point.endsWith("/outputs"))
    .map((point) => point.slice(0, -"/outputs".length))
    .filter((workDir) => !keep.has(workDir));
}

async function mountPoints(): Promise<string[]> {
  let table: string;
  try {
    table = await readFile("/proc/self/mounts", "utf8");
  } catch {
    return [];
  }
  // Fields are space-separated, with spaces in paths written as \040.
  return table
    .split("\n")
    .map((line) => line.split(" ")[1])
    .filter((point): point is string => point !== undefined)
    .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
}
