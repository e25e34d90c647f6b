// The local Docker engine, for tests that check what providers leave behind.
import Docker from "dockerode";

export const TEST_IMAGE = "pond-test/busybox:2";
export const docker = new Docker();

export async function containersOfJob(jobId: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`dev.pond.job=${jobId}`] } });
}

/** Removes whatever a killed provider left running (a real provider does this when it restarts). */
export async function removeContainersOf(provider: string): Promise<void> {
  const leftovers = await docker.listContainers({ all: true, filters: { label: [`dev.pond.provider=${provider.toLowerCase()}`] } });
  await Promise.all(leftovers.map((info) => docker.getContainer(info.Id).remove({ force: true }).catch(goingAnyway)));
}

/** A daemon stopping beside the test may be removing the same container: gone (404) or going (409) is what was wanted. */
function goingAnyway(error: unknown): void {
  const status = (error as { statusCode?: number }).statusCode;
  if (status !== 404 && status !== 409) throw error;
}

/**
 * A copy of TEST_IMAGE with an image id of its own (a label makes it), named `pond-test/own:<tag>`: no other test's
 * registry names are on it, as they are on TEST_IMAGE's. Remove the name when done and the image goes with it.
 */
export async function imageOfItsOwn(tag: string): Promise<string> {
  const maker = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ["true"] });
  try {
    await maker.commit({ repo: "pond-test/own", tag, changes: `LABEL dev.pond.test.own=${tag}` });
  } finally {
    await maker.remove();
  }
  return `pond-test/own:${tag}`;
}
