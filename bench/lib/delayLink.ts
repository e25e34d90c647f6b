// A handle on udpDelayProxyProcess.ts from the measured process: front(target) → the address to hand out instead.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { tsNode } from "../../test/helpers/tsNode.ts";

export interface Endpoint {
  address: string;
  port: number;
}

export class DelayLink {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, (front: Endpoint) => void>();
  private nextId = 0;

  constructor(oneWayMs: number) {
    this.child = spawn(...tsNode(join(import.meta.dirname, "udpDelayProxyProcess.ts"), [String(oneWayMs)]), { stdio: ["pipe", "pipe", "inherit"] });
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      const { id, address, port } = JSON.parse(line) as { id: number } & Endpoint;
      this.waiting.get(id)?.({ address, port });
      this.waiting.delete(id);
    });
  }

  front(target: Endpoint): Promise<Endpoint> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id, ...target })}\n`);
    });
  }

  close(): void {
    this.child.stdin!.end();
    this.child.kill();
  }
}
