// A job's output files with their sha256, each downloaded and checked in the browser.
import { useEffect, useState } from "hono/jsx/dom";
import type { Job } from "../../protocol/job.ts";
import { computeResultHash, type ManifestFile } from "../../protocol/manifest.ts";
import { formatBytes } from "../../protocol/byteSize.ts";
import { outputSourceFor } from "../outputs/outputSource.ts";
import { downloadVerified } from "../outputs/verifiedDownload.ts";

export function Outputs(props: { job: Job }) {
  const manifest = props.job.output;
  const [hashState, setHashState] = useState<"checking" | "matches" | "differs">("checking");
  const [message, setMessage] = useState<{ path: string; text: string; ok: boolean } | null>(null);
  useEffect(() => {
    if (!manifest) return;
    void computeResultHash(manifest.files).then((hash) => setHashState(hash === manifest.result_hash ? "matches" : "differs"));
  }, [manifest?.result_hash]);

  if (!manifest) return <p class="muted">No outputs yet: files the job writes to /outputs appear here when it finishes.</p>;
  if (manifest.files.length === 0) return <p class="muted">The job wrote no files to /outputs.</p>;
  const source = outputSourceFor(props.job);
  const download = async (file: ManifestFile) => {
    setMessage({ path: file.path, text: "Downloading…", ok: true });
    try {
      const via = await downloadVerified(source, props.job, file);
      setMessage({ path: file.path, text: `Downloaded ${via}; sha256 checked`, ok: true });
    } catch (error) {
      setMessage({ path: file.path, text: error instanceof Error ? error.message : String(error), ok: false });
    }
  };
  return (
    <>
      <table data-testid="outputs">
        <thead><tr><th>File</th><th class="num">Size</th><th>sha256</th><th /></tr></thead>
        <tbody>
          {manifest.files.map((file) => (
            <tr>
              <td class="mono">{file.path}</td>
              <td class="num">{formatBytes(file.size)}</td>
              <td class="mono hash" data-testid="output-sha256">{file.sha256}</td>
              <td>
                <button type="button" class="button button-small" onClick={() => void download(file)}>Download</button>
                {message?.path === file.path ? <div class={message.ok ? "muted small" : "error small"} data-testid="download-status">{message.text}</div> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted small">
        Downloads come peer to peer from the provider while it keeps the files, else from Pond's storage. Result hash <span class="mono">{manifest.result_hash}</span>{" "}
        {hashState === "matches" ? "matches these files." : hashState === "differs" ? <strong class="error">does not match these files.</strong> : "…"}
      </p>
    </>
  );
}
