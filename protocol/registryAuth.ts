// Private images: a job names the registry user its image is pulled as (`registry_auth`, in the spec the creator
// signs); the password or token comes beside the spec (`registry_password`), is sealed with the secrets' values,
// and reaches only the provider that runs the job, which pulls with it and never passes it into the container.
import { z } from "zod";
import type { JobSpec } from "./jobSpec.ts";
import { jobLimits as L } from "./limits.ts";

const utf8Bytes = (value: string) => new TextEncoder().encode(value).length;

export const RegistryAuth = z
  .object({
    // Basic auth joins user and password with a colon; a registry user name has none, nor spaces.
    username: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[^\s:\u0000-\u001f\u007f]+$/, "must be a registry user name: no spaces, colons or control characters")
      .meta({ description: "The registry account the provider pulls the image as", example: "my-ci-bot" }),
  })
  .strict()
  .meta({
    id: "RegistryAuth",
    description:
      "The image is private: its provider pulls it as this registry user, with the request's `registry_password`. A provider holding the image already " +
      "still asks the registry whether these credentials may read it before the job uses its copy.",
  });
export type RegistryAuth = z.infer<typeof RegistryAuth>;

/** A registry's password or token: at least 4 characters (it is masked like a secret's value) and no control characters. */
export const RegistryPassword = z
  .string()
  .min(L.minSecretChars, `must be at least ${L.minSecretChars} characters`)
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), "must not contain control characters")
  .refine((value) => utf8Bytes(value) <= L.maxSecretBytes, `must be at most ${L.maxSecretBytes} bytes`);

/** What is wrong between a spec's `registry_auth` and the password sent for it, as 422 details; empty when they match. */
export function registryPasswordProblems(spec: JobSpec, password: string | undefined): Array<{ path: string; message: string }> {
  if (spec.registry_auth && password === undefined) return [{ path: "registry_password", message: "is missing: registry_auth needs the registry's password or token" }];
  if (!spec.registry_auth && password !== undefined) return [{ path: "registry_password", message: "is given without registry_auth: name the registry user too" }];
  return [];
}
