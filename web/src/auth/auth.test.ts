import { describe, expect, it } from "vitest";
import { authorizeUrl, codeChallenge, jwtClaims, randomToken } from "./pkce";
import { sessionFromToken, sessionStore } from "./session";

function jwt(claims: object): string {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${b64({ alg: "EdDSA" })}.${b64(claims)}.sig`;
}

describe("PKCE", () => {
  it("computes the S256 challenge of RFC 7636's example", async () => {
    expect(await codeChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  it("makes unguessable verifiers of an allowed length", () => {
    const v = randomToken(48);
    expect(v).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(randomToken(48)).not.toBe(v);
  });

  it("builds the authorization request", () => {
    const url = new URL(
      authorizeUrl({
        authorizationEndpoint: "http://127.0.0.1:8180/realms/guildhall/protocol/openid-connect/auth",
        clientId: "guildhall-web",
        redirectUri: "http://127.0.0.1:8080/",
        scope: "openid profile",
        state: "s",
        challenge: "c",
        nonce: "n",
      }),
    );
    expect(url.searchParams.get("response_type")).toBe("code");
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("client_id")).toBe("guildhall-web");
  });
});

describe("session", () => {
  it("reads subject and expiry from the token", () => {
    const s = sessionFromToken(jwt({ sub: "bob", exp: 2_000_000_000 }), "dev");
    expect(s.subject).toBe("bob");
    expect(s.expiresAt).toBe(2_000_000_000_000);
    expect(jwtClaims("garbage")).toEqual({});
  });

  it("expires on 401 and keeps who it was; an outdated token is never sent", () => {
    sessionStore.signIn(sessionFromToken(jwt({ sub: "bob", exp: 2_000_000_000 }), "dev"));
    expect(sessionStore.token()).toBeTruthy();
    sessionStore.expire();
    const state = sessionStore.get();
    expect(state.status).toBe("expired");
    expect(state.status !== "signed-out" && state.session.subject).toBe("bob");
    expect(sessionStore.token()).toBeUndefined();

    sessionStore.signIn(sessionFromToken(jwt({ sub: "bob", exp: 1 }), "dev"));
    expect(sessionStore.token()).toBeUndefined();
    expect(sessionStore.get().status).toBe("expired");
    sessionStore.signOut();
    expect(sessionStore.get().status).toBe("signed-out");
  });
});
