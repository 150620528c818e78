/**
 * OAuth 2.0 authorization code with PKCE (RFC 7636), the browser's half:
 * the verifier, its S256 challenge, the authorization URL and the state that
 * must come back unchanged. The token exchange lives in auth/session.ts.
 */

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A fresh random string of `bytes` random bytes, base64url (43 chars for 32 bytes). */
export function randomToken(bytes = 32): string {
  const buffer = new Uint8Array(bytes);
  crypto.getRandomValues(buffer);
  return base64url(buffer);
}

/** BASE64URL(SHA-256(verifier)), the S256 code challenge. */
export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export interface AuthorizeRequest {
  readonly authorizationEndpoint: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scope: string;
  readonly state: string;
  readonly challenge: string;
  readonly nonce: string;
}

export function authorizeUrl(req: AuthorizeRequest): string {
  const url = new URL(req.authorizationEndpoint);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", req.clientId);
  url.searchParams.set("redirect_uri", req.redirectUri);
  url.searchParams.set("scope", req.scope);
  url.searchParams.set("state", req.state);
  url.searchParams.set("nonce", req.nonce);
  url.searchParams.set("code_challenge", req.challenge);
  url.searchParams.set("code_challenge_method", "S256");
  return url.toString();
}

/** The claims of a JWT's payload, unverified: the app only reads `exp` to know when to sign in again; the gateway verifies. */
export function jwtClaims(token: string): Record<string, unknown> {
  const part = token.split(".")[1];
  if (!part) return {};
  try {
    const padded = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
    const json = new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)));
    const claims: unknown = JSON.parse(json);
    return claims && typeof claims === "object" ? (claims as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
