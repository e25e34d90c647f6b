// Pond's SDK: `new PondClient({ baseUrl, apiKey })`. Runs in Node and in browsers.
export { signJobAuthorization } from "./authorization.ts";
export { PondClient, type BatchJob, type BatchOptions, type CreateOptions, type PondClientOptions, type TemplateRunChoices } from "./client.ts";
export { PondApiError, StopEarlyIgnoredError } from "./errors.ts";
export { readEventStream, type ServerEvent } from "./events.ts";
export { signSiwe } from "./siwe.ts";
