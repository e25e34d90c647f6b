// `pond run --secret`: NAME takes its value from this shell's environment (so it
// stays out of the shell's history and the process list), NAME=VALUE as given.
import { UsageError } from "./errors.ts";

/** The names `--secret` gives, checked, without reading any value (a quote needs no value). */
export function secretNamesOf(args: readonly string[] | undefined): string[] {
  const names: string[] = [];
  for (const arg of args ?? []) {
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`--secret takes NAME or NAME=VALUE, NAME a variable name; got "${name}"`);
    if (names.includes(name)) throw new UsageError(`--secret ${name} is given twice`);
    names.push(name);
  }
  return names;
}

export function secretValuesOf(args: readonly string[] | undefined, environment: NodeJS.ProcessEnv = process.env): Record<string, string> | undefined {
  if (!args?.length) return undefined;
  const values: Record<string, string> = {};
  const names = secretNamesOf(args);
  for (const [i, arg] of args.entries()) {
    const name = names[i]!;
    const eq = arg.indexOf("=");
    const value = eq === -1 ? environment[name] : arg.slice(eq + 1);
    // Never the value in a message.
    if (!value) throw new UsageError(eq === -1 ? `--secret ${name}: ${name} is not set in your environment (export it, or pass --secret ${name}=VALUE)` : `--secret ${name}= has no value`);
    values[name] = value;
  }
  return values;
}

/** Where `--registry-user`'s password or token comes from: the environment, like --secret's values. */
export const REGISTRY_PASSWORD_VARIABLE = "POND_REGISTRY_PASSWORD";

export function registryPasswordOf(user: string, environment: NodeJS.ProcessEnv = process.env): string {
  const password = environment[REGISTRY_PASSWORD_VARIABLE];
  if (!password) throw new UsageError(`--registry-user ${user}: put the registry's password or token for ${user} in ${REGISTRY_PASSWORD_VARIABLE} (export ${REGISTRY_PASSWORD_VARIABLE}=…)`);
  return password;
}
