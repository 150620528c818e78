/** Loading state for the screens: one shape for "loading / failed / here". */
import { type DependencyList, useCallback, useEffect, useRef, useState } from "react";

export interface Resource<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  readonly reload: () => void;
  /** Replace the data locally (optimistic updates, or a write's answer). */
  readonly set: (next: T) => void;
}

/** Runs `load` when `deps` change; a late answer for old deps is dropped. */
export function useResource<T>(load: () => Promise<T>, deps: DependencyList): Resource<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    loadRef.current().then(
      (data) => live && setState({ data, error: undefined, loading: false }),
      (error: unknown) => live && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- deps are the caller's
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  const set = useCallback((data: T) => setState({ data, error: undefined, loading: false }), []);
  return { ...state, reload, set };
}

export interface Paged<T> {
  readonly items: readonly T[];
  readonly error: unknown;
  readonly loading: boolean;
  readonly hasMore: boolean;
  readonly loadMore: () => void;
  readonly reload: () => void;
  readonly prepend: (item: T) => void;
  readonly update: (fn: (items: readonly T[]) => readonly T[]) => void;
}

/** A cursor-paged list: the first page on `deps` change, the next on loadMore; no full reload. */
export function usePaged<T>(
  load: (pageToken: string | undefined) => Promise<{ items: readonly T[]; next_page_token: string }>,
  deps: DependencyList,
): Paged<T> {
  const [items, setItems] = useState<readonly T[]>([]);
  const [token, setToken] = useState<string>("");
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const fetchPage = useCallback((pageToken: string | undefined, replace: boolean) => {
    const mine = ++generation.current;
    setLoading(true);
    setError(undefined);
    loadRef.current(pageToken).then(
      (page) => {
        if (mine !== generation.current) return;
        setItems((old) => (replace ? page.items : [...old, ...page.items]));
        setToken(page.next_page_token);
        setLoading(false);
      },
      (e: unknown) => {
        if (mine !== generation.current) return;
        setError(e);
        setLoading(false);
      },
    );
  }, []);

  useEffect(() => {
    setItems([]);
    fetchPage(undefined, true);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- deps are the caller's
  }, [...deps, tick, fetchPage]);

  return {
    items,
    error,
    loading,
    hasMore: token !== "",
    loadMore: () => {
      if (token) fetchPage(token, false);
    },
    reload: () => setTick((n) => n + 1),
    prepend: (item) => setItems((old) => [item, ...old]),
    update: (fn) => setItems((old) => fn(old)),
  };
}

/** A write in progress: `run` sets busy, records the error, and returns the result (or undefined on failure). */
export function useAction(): {
  busy: boolean;
  error: unknown;
  run: <T>(action: () => Promise<T>) => Promise<T | undefined>;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const run = useCallback(async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await action();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(undefined) };
}
