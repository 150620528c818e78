/**
 * Hash routes (`#/communities/c1`). The gateway serves the app as plain static
 * files at `/`; with the route in the fragment it needs no "serve index.html
 * for any unknown path" rule, which would otherwise answer an unknown API path
 * with HTML instead of a problem+json 404 (ADR 0017).
 */
import { type AnchorHTMLAttributes, type ReactNode, useEffect, useSyncExternalStore } from "react";

export interface Location {
  readonly path: string;
  readonly query: URLSearchParams;
}

export function parseHash(hash: string): Location {
  const raw = hash.startsWith("#") ? hash.slice(1) : hash;
  const [pathPart = "", queryPart = ""] = raw.split("?", 2);
  const path = pathPart === "" ? "/" : pathPart.startsWith("/") ? pathPart : `/${pathPart}`;
  return { path, query: new URLSearchParams(queryPart) };
}

/** The href for an app path: `href("/c/1", {tab: "members"})` → `#/c/1?tab=members`. */
export function href(path: string, query?: Readonly<Record<string, string | undefined>>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== "") params.set(key, value);
  }
  const qs = params.toString();
  return `#${path}${qs ? `?${qs}` : ""}`;
}

export function navigate(path: string, query?: Readonly<Record<string, string | undefined>>): void {
  window.location.hash = href(path, query).slice(1);
}

function subscribe(callback: () => void): () => void {
  window.addEventListener("hashchange", callback);
  return () => window.removeEventListener("hashchange", callback);
}

export function useLocation(): Location {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return parseHash(hash);
}

/**
 * Matches `/c/:id/spaces/:space` against a path; returns the decoded params or
 * null. Segments are compared whole, so `/c/:id` does not match `/c/1/x`.
 */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/").filter(Boolean);
  const got = path.split("/").filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith(":")) {
      try {
        params[w.slice(1)] = decodeURIComponent(g);
      } catch {
        return null;
      }
    } else if (w !== g) {
      return null;
    }
  }
  return params;
}

export interface RouteDef {
  readonly pattern: string;
  readonly render: (params: Record<string, string>, query: URLSearchParams) => ReactNode;
}

export function resolve(
  routes: readonly RouteDef[],
  location: Location,
): { route: RouteDef; params: Record<string, string> } | null {
  for (const route of routes) {
    const params = matchPath(route.pattern, location.path);
    if (params) return { route, params };
  }
  return null;
}

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, "href"> & {
  to: string;
  query?: Readonly<Record<string, string | undefined>>;
};

export function Link({ to, query, children, ...rest }: LinkProps): ReactNode {
  return (
    <a href={href(to, query)} {...rest}>
      {children}
    </a>
  );
}

/** Moves focus to the main heading after a navigation, so screen readers and keyboard users start at the new page. */
export function useFocusOnNavigate(path: string, targetId: string): void {
  useEffect(() => {
    const target = document.getElementById(targetId);
    target?.focus({ preventScroll: false });
  }, [path, targetId]);
}
