// Text a provider wrote (a job's error, its status detail, what its egress
// proxy says), shown in the creator's terminal: control characters and
// bidirectional overrides are printed as escapes, so a hostile provider cannot
// move the cursor, recolour, retitle, link, hide or reorder what the CLI shows
// (or fake a line of its own). A job's own log is the job's and passes as it
// is, colours and progress bars included, as `docker logs` does.

/** Every C0 control but tab, DEL, the C1 controls, and the bidirectional embeddings, overrides and isolates. */
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function terminalText(text: string): string {
  return text.replace(UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
