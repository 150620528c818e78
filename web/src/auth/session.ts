/**
 * Who is signed in, as an observable store. The access token lives in
 * sessionStorage (one tab's sign-in, gone when the tab closes). When the API
 * answers 401 the session becomes "expired": the app shows sign-in again over
 * the page the person was on, whose drafts stay in localStorage, and returns
 * there after sign-in.
 */
import { readJson, remove, writeJson } from "../lib/storage";
import { jwtClaims } from "./pkce";

export type SignInMethod = "dev" | "oidc";

export interface Session {
  readonly token: string;
  /** Epoch milliseconds from the token's `exp`, or null when it has none. */
  readonly expiresAt: number | null;
  readonly method: SignInMethod;
  /** The token's subject: keys drafts and preferences before /v1/me answered. */
  readonly subject: string;
}

export type SessionState =
  | { readonly status: "signed-out" }
  | { readonly status: "signed-in"; readonly session: Session }
  | { readonly status: "expired"; readonly session: Session };

const KEY = "guildhall.session";
let state: SessionState = load();
const listeners = new Set<() => void>();

function load(): SessionState {
  if (typeof sessionStorage === "undefined") return { status: "signed-out" };
  const session = readJson<Session>(sessionStorage, KEY);
  if (!session || typeof session.token !== "string") return { status: "signed-out" };
  if (session.expiresAt !== null && session.expiresAt <= Date.now()) return { status: "expired", session };
  return { status: "signed-in", session };
}

function set(next: SessionState): void {
  state = next;
  for (const listener of listeners) listener();
}

export function sessionFromToken(token: string, method: SignInMethod): Session {
  const claims = jwtClaims(token);
  const exp = typeof claims.exp === "number" ? claims.exp * 1000 : null;
  const subject = typeof claims.sub === "string" ? claims.sub : "";
  return { token, expiresAt: exp, method, subject };
}

export const sessionStore = {
  get: (): SessionState => state,
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  /** The bearer token to send, or undefined when signed out or expired. */
  token(): string | undefined {
    if (state.status !== "signed-in") return undefined;
    if (state.session.expiresAt !== null && state.session.expiresAt <= Date.now()) {
      set({ status: "expired", session: state.session });
      return undefined;
    }
    return state.session.token;
  },
  signIn(session: Session): void {
    writeJson(sessionStorage, KEY, session);
    set({ status: "signed-in", session });
  },
  /** The API refused the token: keep who it was (for drafts), ask to sign in again. */
  expire(): void {
    if (state.status === "signed-in") set({ status: "expired", session: state.session });
  },
  signOut(): void {
    remove(sessionStorage, KEY);
    set({ status: "signed-out" });
  },
};
