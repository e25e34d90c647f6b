// Published template versions in D1. A version is written once: the unique
// index on (name, version) refuses a second publish, and a namespace belongs to
// the first account that published in it.
import { and, eq, sql, type SQL } from "drizzle-orm";
import { compareSemVer, type TemplateDefinition, type TemplateRef } from "../../protocol/template.ts";
import type { Db } from "../db/client.ts";
import { violatesConstraint } from "../db/constraints.ts";
import { keyset, type Cursor } from "../db/cursor.ts";
import { templateNamespaces, templates } from "../db/schema.ts";
import { ApiError, conflict } from "../errors/problem.ts";

export type TemplateRow = typeof templates.$inferSelect;

export const namespaceTaken = (namespace: string) =>
  new ApiError(403, "namespace-taken", "Forbidden", `the namespace "${namespace}" belongs to another account: publish under a namespace of your own`);
export const versionExists = (name: string, version: string) =>
  conflict("template-version-exists", `${name}@${version} is already published and never changes: publish a new version`);

/** Publishes a version; claims its namespace for `account` if nobody has it yet. */
export async function publishTemplate(db: Db, account: string, definition: TemplateDefinition, now = Date.now()): Promise<TemplateRow> {
  const namespace = definition.name.split("/")[0]!;
  const owned = sql`(SELECT ${templateNamespaces.account} FROM ${templateNamespaces} WHERE ${templateNamespaces.name} = ${namespace}) = ${account}`;
  const [, inserted] = await db
    .batch([
      db.insert(templateNamespaces).values({ name: namespace, account, createdAt: now }).onConflictDoNothing(),
      // Written only when the namespace is this account's: one statement, so two publishers cannot both pass.
      db
        .insert(templates)
        .select(
          sql`SELECT NULL, ${definition.name}, ${definition.version}, ${account}, ${definition.description}, ${JSON.stringify(definition)}, ${now} WHERE ${owned}`,
        )
        .returning(),
    ])
    .catch((error: unknown) => {
      if (violatesConstraint(error, /UNIQUE constraint failed: templates\.name, templates\.version/)) throw versionExists(definition.name, definition.version);
      throw error;
    });
  const row = inserted[0];
  if (!row) throw namespaceTaken(namespace);
  return row;
}

/** The version a ref names; "latest" is the highest release (or pre-release, when there is no release). */
export async function findTemplate(db: Db, ref: TemplateRef): Promise<TemplateRow | undefined> {
  if (ref.version !== "latest") {
    return (await db.select().from(templates).where(and(eq(templates.name, ref.name), eq(templates.version, ref.version))))[0];
  }
  const versions = await db.select({ version: templates.version }).from(templates).where(eq(templates.name, ref.name));
  if (versions.length === 0) return undefined;
  const sorted = versions.map((v) => v.version).sort(compareSemVer);
  const releases = sorted.filter((version) => !version.split("+")[0]!.includes("-"));
  const latest = (releases.length > 0 ? releases : sorted).at(-1)!;
  return findTemplate(db, { name: ref.name, version: latest });
}

/** Fetches `limit + 1` rows from the cursor onwards (newest first), optionally one name or a search. */
export async function listTemplateRows(db: Db, options: { name?: string; query?: string; owner?: string; limit: number; cursor?: Cursor }): Promise<TemplateRow[]> {
  const conditions: SQL[] = [];
  if (options.name) conditions.push(eq(templates.name, options.name));
  if (options.owner) conditions.push(eq(templates.owner, options.owner));
  if (options.query) {
    const pattern = `%${options.query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    conditions.push(sql`(${templates.name} LIKE ${pattern} ESCAPE '\\' OR ${templates.description} LIKE ${pattern} ESCAPE '\\')`);
  }
  const page = keyset(templates.seq, options.cursor);
  if (page.from) conditions.push(page.from);
  return db
    .select()
    .from(templates)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(page.order)
    .limit(options.limit + 1);
}
