// Starts the real webhook receiver the workerd tests deliver to.
import type { TestProject } from "vitest/node";
import { startWebhookReceiver } from "../helpers/webhookReceiver.ts";

declare module "vitest" {
  export interface ProvidedContext {
    receiverUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const receiver = await startWebhookReceiver();
  project.provide("receiverUrl", receiver.url);
  return () => receiver.close();
}
