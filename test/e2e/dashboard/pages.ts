// Steps the dashboard tests take in the browser, as a person would.
import type { Page } from "playwright-core";
import type { PrivateKeyAccount } from "viem/accounts";

/** Signs in on /sign-in by pasting an API key; resolves on the page it leads to. */
export async function signInWithKey(page: Page, baseUrl: string, key: string, next = "/jobs"): Promise<void> {
  await page.goto(`${baseUrl}/sign-in?next=${encodeURIComponent(next)}`);
  await page.locator('input[name="key"]').fill(key);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL((url) => url.pathname === next.split("?")[0]);
}

/**
 * Puts an EIP-1193 wallet into the page (window.ethereum) whose requests are
 * answered here, signing with a real viem account. A stand-in for a browser
 * extension wallet, which cannot be installed here; the signature is real.
 */
export async function injectWallet(page: Page, account: PrivateKeyAccount): Promise<string[]> {
  const calls: string[] = [];
  await page.exposeFunction("pondTestWallet", async (method: string, params: unknown[]) => {
    calls.push(method);
    if (method === "eth_requestAccounts" || method === "eth_accounts") return [account.address];
    if (method === "personal_sign") return account.signMessage({ message: { raw: params[0] as `0x${string}` } });
    throw new Error(`the test wallet does not do ${method}`);
  });
  await page.addInitScript(() => {
    const bridge = (window as unknown as { pondTestWallet: (method: string, params: unknown[]) => Promise<unknown> }).pondTestWallet;
    (window as unknown as { ethereum: unknown }).ethereum = { request: ({ method, params }: { method: string; params?: unknown[] }) => bridge(method, params ?? []) };
  });
  return calls;
}

/** The job ids in the job table, top to bottom. */
export function listedJobIds(page: Page): Promise<string[]> {
  return page.$$eval("tr[data-job-id]", (rows) => rows.map((row) => row.getAttribute("data-job-id") ?? ""));
}
