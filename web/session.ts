// The signed-in creator's API key. sessionStorage, so it lives as long as the
// tab and never travels anywhere but the Authorization header.
const STORAGE_KEY = "pond.apiKey";
const API_KEY = /^pond_sk_[A-Za-z0-9_-]{43}$/;

export function apiKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

/** Keeps a key, or says what is wrong with it. */
export function saveApiKey(key: string): void {
  const trimmed = key.trim();
  if (!API_KEY.test(trimmed)) throw new Error("That is not a Pond API key: keys start with pond_sk_ and have 43 characters after it.");
  sessionStorage.setItem(STORAGE_KEY, trimmed);
}

export function signOut(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
