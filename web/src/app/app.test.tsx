import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { sessionFromToken, sessionStore } from "../auth/session";
import { render } from "@testing-library/react";
import { ApiContext, type Api } from "../api/port";
import { fakeApi, PARTNER } from "../test/fakes";
import { App } from "./App";

function jwt(sub: string): string {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "");
  return `${b64({ alg: "EdDSA" })}.${b64({ sub, exp: 2_000_000_000 })}.x`;
}

function streamController() {
  let push: (text: string) => void = () => undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      push = (text) => controller.enqueue(new TextEncoder().encode(text));
    },
  });
  return { stream, push: (text: string) => push(text) };
}

function renderApp(api: Api) {
  return render(
    <ApiContext.Provider value={api}>
      <App />
    </ApiContext.Provider>,
  );
}

describe("the app", () => {
  it("signs in as a demo person and shows the home page", async () => {
    sessionStore.signOut();
    window.location.hash = "#/";
    const user = userEvent.setup();
    const live = streamController();
    const api = fakeApi({
      authConfig: async () => ({ mode: "dev" }),
      demoPeople: async () => [{ subject: "bob", display_name: "Bob Okafor", roles: ["employee"] }],
      devToken: async () => jwt("bob"),
      me: async () => ({ person_id: "bob", org_id: "home", kind: "employee", home_admin: false }),
      unreadCount: async () => 2,
      openNotificationStream: async () => live.stream,
      homeFeed: async () => ({ items: [], next_page_token: "" }),
      routedQuestions: async () => ({ items: [], next_page_token: "" }),
    });
    renderApp(api);
    await user.click(await screen.findByRole("button", { name: /Sign in as Bob Okafor/ }));
    expect(await screen.findByRole("heading", { level: 1, name: "Home" })).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId("unread-badge").textContent).toBe("2"));

    // A notification arrives on the live stream: the badge counts it without a reload.
    live.push('id: n1\nevent: notification\ndata: {"notification_id":"n1","title":"Carol answered","read_at":null}\n\n');
    await waitFor(() => expect(screen.getByTestId("unread-badge").textContent).toBe("3"));
    expect(screen.getByTestId("unread-label").textContent).toBe("3 unread notifications");
  });

  it("opens sign-in over the page when the session expires, keeping the page", async () => {
    sessionStore.signIn(sessionFromToken(jwt("bob"), "dev"));
    window.location.hash = "#/";
    const api = fakeApi({
      authConfig: async () => ({ mode: "dev" }),
      demoPeople: async () => [{ subject: "bob", display_name: "Bob Okafor", roles: ["employee"] }],
      me: async () => ({ person_id: "bob", org_id: "home", kind: "employee", home_admin: false }),
      unreadCount: async () => 0,
      openNotificationStream: async () => new ReadableStream(),
      homeFeed: async () => ({ items: [], next_page_token: "" }),
      routedQuestions: async () => ({ items: [], next_page_token: "" }),
    });
    renderApp(api);
    expect(await screen.findByRole("heading", { level: 1, name: "Home" })).toBeTruthy();
    sessionStore.expire();
    expect(await screen.findByText(/Your session has ended/)).toBeTruthy();
    expect(screen.getByRole("heading", { level: 1, name: "Home", hidden: true })).toBeTruthy();
    sessionStore.signOut();
  });

  it("gives partners no directory, search or people navigation", async () => {
    sessionStore.signIn(sessionFromToken(jwt("vera"), "dev"));
    window.location.hash = "#/communities";
    const api = fakeApi({
      me: async () => PARTNER,
      unreadCount: async () => 0,
      openNotificationStream: async () => new ReadableStream(),
      myPinholes: async () => [],
    });
    renderApp(api);
    expect(await screen.findByRole("heading", { level: 1, name: "Nothing here" })).toBeTruthy();
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect(nav.textContent).not.toContain("Communities");
    expect(nav.textContent).not.toContain("Search");
    expect(nav.textContent).toContain("My pinholes");
    sessionStore.signOut();
  });
});
