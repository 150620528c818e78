/**
 * How this deployment signs people in, read from two optional static files
 * next to the app (the gateway serves them from its static directory):
 *
 * - `config.json`, written by the deployment: `{"auth": {"mode": "oidc",
 *   "issuer": …, "client_id": …, "scope": …}}` for the enterprise's provider;
 * - `dev-signin.json`, written by `make run` only (never in a production
 *   build): the demo people with tokens of the gateway's local development
 *   issuer, which the gateway accepts only when that issuer is enabled.
 *
 * Neither is part of the /v1 API, so they are read here, not through the
 * generated client.
 */
import type { DemoPerson } from "../api/model";
import type { AuthConfig } from "../api/port";
import { networkError, toApiError } from "../api/problem";

interface DevSignIn {
  readonly people: readonly (DemoPerson & { readonly token: string })[];
}

async function staticJson<T>(name: string): Promise<T | undefined> {
  let response: Response;
  try {
    response = await fetch(new URL(name, window.location.href.split("#")[0]), { cache: "no-store" });
  } catch (cause) {
    throw networkError(cause);
  }
  if (response.status === 404) return undefined;
  if (!response.ok) throw toApiError(response.status, undefined, response.headers);
  const type = response.headers.get("content-type") ?? "";
  return type.includes("json") ? ((await response.json()) as T) : undefined;
}

export async function loadAuthConfig(): Promise<AuthConfig> {
  const config = await staticJson<{ auth?: { mode?: string; issuer?: string; client_id?: string; scope?: string } }>("config.json");
  const auth = config?.auth;
  if (auth?.mode === "oidc" && auth.issuer && auth.client_id) {
    return { mode: "oidc", issuer: auth.issuer, clientId: auth.client_id, scope: auth.scope ?? "openid" };
  }
  return { mode: "dev" };
}

let devPeople: Promise<DevSignIn | undefined> | undefined;

function loadDev(): Promise<DevSignIn | undefined> {
  devPeople ??= staticJson<DevSignIn>("dev-signin.json").catch((e: unknown) => {
    devPeople = undefined;
    throw e;
  });
  return devPeople;
}

export async function loadDemoPeople(): Promise<readonly DemoPerson[]> {
  const dev = await loadDev();
  return (dev?.people ?? []).map(({ subject, display_name, roles }) => ({ subject, display_name, roles }));
}

export async function demoToken(subject: string): Promise<string> {
  // Re-read: `make run` writes fresh tokens each time it starts.
  devPeople = undefined;
  const person = (await loadDev())?.people.find((p) => p.subject === subject);
  if (!person) throw toApiError(404, { detail: "no such demo person" });
  return person.token;
}
