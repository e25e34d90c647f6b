// Worker variables for `wrangler dev`: plain ones as `--var`, secrets in an env
// file only its owner may read (`--env-file`), never on the command line, where
// `ps` shows them to every user of the machine. Used by `npm start`
// (scripts/local.ts) and by the tests' wrangler (test/helpers/wranglerDev.ts).
import { chmod, writeFile } from "node:fs/promises";

/** The variables that are secrets (wrangler.toml: set with `wrangler secret put` in production). */
export const SECRET_VARS: ReadonlySet<string> = new Set(["SECRETS_KEY", "RELAYER_PRIVATE_KEY", "RPC_URL"]);

/** Writes the secrets among `vars` to `envFile` (mode 0600) and returns the `wrangler dev` arguments for all of them. */
export async function wranglerVarArgs(vars: Record<string, string>, envFile: string): Promise<string[]> {
  const args: string[] = [];
  const lines: string[] = [];
  for (const [name, value] of Object.entries(vars)) {
    if (!SECRET_VARS.has(name)) {
      args.push("--var", `${name}:${value}`);
      continue;
    }
    // Inside double quotes a dotenv parser reads everything literally except these.
    if (/["\\\r\n]/.test(value)) throw new Error(`${name} holds a quote, backslash or line break, which an env file cannot carry as it is`);
    lines.push(`${name}="${value}"`);
  }
  await writeFile(envFile, lines.length > 0 ? `${lines.join("\n")}\n` : "", { mode: 0o600 });
  // writeFile's mode applies only to a file it creates: a file left from an earlier run is narrowed too.
  await chmod(envFile, 0o600);
  args.push("--env-file", envFile);
  return args;
}
