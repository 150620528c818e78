/**
 * Sign-in with the enterprise's OpenID Connect provider: authorization code
 * with PKCE, as a public client (no secret in the browser). The provider's
 * endpoints come from its discovery document; the verifier and state wait in
 * sessionStorage while the browser is at the provider.
 */
import { readJson, remove, writeJson } from "../lib/storage";
import { authorizeUrl, codeChallenge, randomToken } from "./pkce";

const PENDING = "guildhall.oidc.pending";

interface Discovery {
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
}

interface Pending {
  readonly state: string;
  readonly verifier: string;
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly redirectUri: string;
  /** The app route to return to after sign-in. */
  readonly returnTo: string;
}

export interface OidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly scope: string;
}

async function discover(issuer: string): Promise<Discovery> {
  const response = await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`discovery failed: ${response.status}`);
  const doc = (await response.json()) as Partial<Discovery>;
  if (!doc.authorization_endpoint || !doc.token_endpoint) throw new Error("discovery document lacks endpoints");
  return { authorization_endpoint: doc.authorization_endpoint, token_endpoint: doc.token_endpoint };
}

/** The address the provider sends the browser back to: the app's own origin and path, no fragment. */
export function redirectUri(location: Location = window.location): string {
  return `${location.origin}${location.pathname}`;
}

/** Sends the browser to the provider; resolves never (the page unloads). */
export async function startOidcSignIn(settings: OidcSettings, returnTo: string): Promise<void> {
  const discovery = await discover(settings.issuer);
  const verifier = randomToken(48);
  const state = randomToken(16);
  const pending: Pending = {
    state,
    verifier,
    tokenEndpoint: discovery.token_endpoint,
    clientId: settings.clientId,
    redirectUri: redirectUri(),
    returnTo,
  };
  writeJson(sessionStorage, PENDING, pending);
  window.location.assign(
    authorizeUrl({
      authorizationEndpoint: discovery.authorization_endpoint,
      clientId: settings.clientId,
      redirectUri: pending.redirectUri,
      scope: settings.scope,
      state,
      challenge: await codeChallenge(verifier),
      nonce: randomToken(16),
    }),
  );
}

/** Whether the current URL is the provider sending the browser back (`?code=…&state=…` or `?error=…`). */
export function isOidcCallback(search: string = window.location.search): boolean {
  const params = new URLSearchParams(search);
  return (params.has("code") || params.has("error")) && params.has("state");
}

/**
 * Completes sign-in: checks the state, exchanges the code (with the verifier)
 * for tokens, and removes the code from the address bar.
 *
 * Raises Error when the state does not match, the provider reported an
 * error, or the exchange failed.
 */
export async function completeOidcSignIn(search: string = window.location.search): Promise<{ accessToken: string; returnTo: string }> {
  const params = new URLSearchParams(search);
  const pending = readJson<Pending>(sessionStorage, PENDING);
  remove(sessionStorage, PENDING);
  window.history.replaceState(null, "", `${window.location.pathname}${pending?.returnTo ?? "#/"}`);
  if (!pending || params.get("state") !== pending.state) throw new Error("state mismatch");
  const error = params.get("error");
  if (error) throw new Error(`provider refused: ${error}`);
  const response = await fetch(pending.tokenEndpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code") ?? "",
      redirect_uri: pending.redirectUri,
      client_id: pending.clientId,
      code_verifier: pending.verifier,
    }),
  });
  if (!response.ok) throw new Error(`token exchange failed: ${response.status}`);
  const tokens = (await response.json()) as { access_token?: unknown };
  if (typeof tokens.access_token !== "string") throw new Error("no access token");
  return { accessToken: tokens.access_token, returnTo: pending.returnTo };
}
