// Which processes a process started, and which TCP ports they listen on, read
// from Linux's /proc: so a test can check that stopping something left nothing
// behind, including children that moved to process groups of their own.
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** Clock ticks since boot: with the pid, names one process even after the pid is reused. */
  startTime: string;
  command: string;
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may itself hold spaces or parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z") return undefined; // a zombie has exited; only its exit status is left to reap
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), startTime: fields[19]!, command };
  } catch {
    return undefined; // gone between listing and reading
  }
}

export function allProcesses(): ProcessInfo[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProcess(Number(name)))
    .filter((info): info is ProcessInfo => info !== undefined);
}

/** The process and everything below it, right now. */
export function processTree(rootPid: number): ProcessInfo[] {
  const all = allProcesses();
  const tree = all.filter((p) => p.pid === rootPid);
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((p) => p.ppid === tree[i]!.pid));
  return tree;
}

/** Those of `known` still running (same pid and start time), and any process in one of their groups. */
export function survivors(known: readonly ProcessInfo[]): ProcessInfo[] {
  const groups = new Set(known.map((p) => p.pgid));
  groups.delete(readProcess(process.pid)?.pgid ?? -1); // never count the test's own group
  const same = new Set(known.map((p) => `${p.pid}/${p.startTime}`));
  return allProcesses().filter((p) => same.has(`${p.pid}/${p.startTime}`) || groups.has(p.pgid));
}

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const target = (() => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return "";
        }
      })();
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]!);
    }
  } catch {
    // The process exited meanwhile: it listens on nothing.
  }
  return inodes;
}

interface ListeningSocket {
  port: number;
  inode: string;
}

function listeningSockets(): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue; // no IPv6 here
    }
    for (const line of text.trim().split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // Column 3 is the state; 0A is LISTEN. Column 1 is local address:port in hex.
      if (cols[3] === "0A") sockets.push({ port: parseInt(cols[1]!.split(":")[1]!, 16), inode: cols[9]! });
    }
  }
  return sockets;
}

/** TCP ports any of these processes listens on (in this network namespace). */
export function listeningPorts(pids: readonly number[]): number[] {
  const inodes = new Set(pids.flatMap((pid) => [...socketInodes(pid)]));
  return [...new Set(listeningSockets().filter((s) => inodes.has(s.inode)).map((s) => s.port))].sort((a, b) => a - b);
}

/** Those of `ports` that something (anyone) still listens on. */
export function portsInUse(ports: readonly number[]): number[] {
  const listening = new Set(listeningSockets().map((s) => s.port));
  return ports.filter((port) => listening.has(port));
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
