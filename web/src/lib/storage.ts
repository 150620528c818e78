/**
 * localStorage / sessionStorage that never throws: private modes and full
 * quotas make the browser's storage fail, and a failed save must not lose the
 * page (the draft simply stays in memory).
 */

export function readJson<T>(store: Storage, key: string): T | undefined {
  try {
    const raw = store.getItem(key);
    return raw === null ? undefined : (JSON.parse(raw) as T);
  } catch {
    return undefined;
  }
}

export function writeJson(store: Storage, key: string, value: unknown): boolean {
  try {
    store.setItem(key, JSON.stringify(value));
    return true;
  } catch {
    return false;
  }
}

export function remove(store: Storage, key: string): void {
  try {
    store.removeItem(key);
  } catch {
    // Nothing to keep consistent: the key is gone or storage is unavailable.
  }
}
