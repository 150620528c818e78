/**
 * A form's value kept as a draft: restored on mount (reload, crash, expired
 * session), saved shortly after each change, cleared when the server took it.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { useMe } from "../app/me";
import { clearDraft, loadDraft, saveDraft } from "../lib/drafts";

export function useDraft<T>(key: string, empty: T): {
  value: T;
  setValue: (next: T) => void;
  restored: boolean;
  savedAt: number | null;
  discard: () => void;
  done: () => void;
} {
  const me = useMe();
  const [initial] = useState(() => loadDraft<T>(me.person_id, key));
  const [value, setValueState] = useState<T>(initial ?? empty);
  const [restored, setRestored] = useState(initial !== undefined);
  const [savedAt, setSavedAt] = useState<number | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const latest = useRef(value);

  const flush = useCallback(() => {
    if (timer.current === undefined) return;
    clearTimeout(timer.current);
    timer.current = undefined;
    if (saveDraft(me.person_id, key, latest.current)) setSavedAt(Date.now());
  }, [key, me.person_id]);

  const setValue = useCallback(
    (next: T) => {
      latest.current = next;
      setValueState(next);
      if (timer.current !== undefined) clearTimeout(timer.current);
      timer.current = setTimeout(() => {
        timer.current = undefined;
        if (saveDraft(me.person_id, key, latest.current)) setSavedAt(Date.now());
      }, 400);
    },
    [key, me.person_id],
  );

  // Save what is pending when the page goes away (reload, tab close, navigation).
  useEffect(() => {
    window.addEventListener("pagehide", flush);
    return () => {
      window.removeEventListener("pagehide", flush);
      flush();
    };
  }, [flush]);

  const discard = useCallback(() => {
    if (timer.current !== undefined) clearTimeout(timer.current);
    timer.current = undefined;
    clearDraft(me.person_id, key);
    latest.current = empty;
    setValueState(empty);
    setRestored(false);
    setSavedAt(null);
  }, [empty, key, me.person_id]);

  return { value, setValue, restored, savedAt, discard, done: discard };
}
