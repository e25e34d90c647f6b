import { defineConfig } from "drizzle-kit";

// drizzle-kit writes plain SQL migrations where `wrangler d1 migrations apply` reads them.
export default defineConfig({
  dialect: "sqlite",
  schema: "./worker/db/schema.ts",
  out: "./migrations",
});
