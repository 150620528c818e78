/**
 * Drafts that survive a reload, a crash and an expired session: every
 * compose box saves what was typed under a key naming where it was typed
 * (e.g. `answer:<question id>`), per person, in localStorage. A draft is
 * removed only after the server accepted the text.
 */
import { readJson, remove, writeJson } from "./storage";

const PREFIX = "guildhall.draft.";
/** Drafts older than this are dropped when listed, so storage does not grow for ever. */
const MAX_AGE_MS = 30 * 24 * 3600 * 1000;

export interface Draft<T> {
  readonly value: T;
  readonly savedAt: number;
}

function storageKey(person: string, key: string): string {
  return `${PREFIX}${person}:${key}`;
}

export function loadDraft<T>(person: string, key: string, now = Date.now()): T | undefined {
  const draft = readJson<Draft<T>>(localStorage, storageKey(person, key));
  if (!draft || typeof draft.savedAt !== "number") return undefined;
  if (now - draft.savedAt > MAX_AGE_MS) {
    remove(localStorage, storageKey(person, key));
    return undefined;
  }
  return draft.value;
}

export function saveDraft<T>(person: string, key: string, value: T, now = Date.now()): boolean {
  return writeJson(localStorage, storageKey(person, key), { value, savedAt: now } satisfies Draft<T>);
}

export function clearDraft(person: string, key: string): void {
  remove(localStorage, storageKey(person, key));
}
