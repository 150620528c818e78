/** Test doubles: an Api whose methods the test chooses, and a render with the app's providers. */
import { render, type RenderResult } from "@testing-library/react";
import type { ReactNode } from "react";
import { MeContext } from "../app/me";
import type { Me, PersonCard, Post, PostView, Space } from "../api/model";
import { type Api, ApiContext } from "../api/port";
import { ApiError } from "../api/problem";
import { I18nProvider } from "../i18n";

export function fakeApi(overrides: Partial<Api> = {}): Api {
  return new Proxy(overrides as Api, {
    get(target, name: string) {
      if (name in target) return target[name as keyof Api];
      return () => Promise.reject(new ApiError("not-found", 404, { detail: `fake: ${name}` }, undefined, undefined));
    },
  });
}

export const EMPLOYEE: Me = { person_id: "bob", org_id: "home", kind: "employee", home_admin: false };
export const PARTNER: Me = { person_id: "vera", org_id: "acme", kind: "partner", home_admin: false };

export function renderWith(ui: ReactNode, { api = fakeApi(), me = EMPLOYEE }: { api?: Api; me?: Me } = {}): RenderResult {
  localStorage.setItem(`guildhall.locale.${me.person_id}`, JSON.stringify("en"));
  return render(
    <ApiContext.Provider value={api}>
      <I18nProvider person={me.person_id}>
        <MeContext.Provider value={me}>{ui}</MeContext.Provider>
      </I18nProvider>
    </ApiContext.Provider>,
  );
}

export const MAIN_SPACE: Space = { space_id: "sp-main", kind: "community", community_id: "c1", title: "Supply chain", shared_with: [] };
export const PINHOLE_SPACE: Space = { space_id: "ph1", kind: "pinhole", community_id: "c1", title: "Acme rollout", shared_with: ["Acme Logistics"] };

export function card(id: string, name: string, kind: PersonCard["kind"] = "employee"): PersonCard {
  return { person_id: id, display_name: name, title: "", org_id: kind === "employee" ? "home" : "acme", org_display_name: kind === "employee" ? "Home" : "Acme Logistics", kind };
}

export function post(overrides: Partial<Post> = {}): Post {
  return {
    post_id: "p1",
    space_id: "sp-main",
    type: "discussion",
    title: "Pallet sizes",
    body: "Which pallet sizes do we use?",
    tags: ["logistics"],
    author_id: "bob",
    state: "published",
    pinned: false,
    idea_status: null,
    accepted_answer_id: "",
    revision: 1,
    comment_count: 0,
    created_at: "2026-12-01T10:00:00.000Z",
    updated_at: "2026-12-01T10:00:00.000Z",
    vote_count: 0,
    answer_count: 0,
    reactions: [],
    ...overrides,
  };
}

export function view(p: Post = post(), space: Space = MAIN_SPACE, author: PersonCard = card("bob", "Bob Okafor")): PostView {
  return { post: p, author, space, viewer: { voted: false, reactions: [], can_edit: true, can_moderate: false }, etag: `"${p.revision}"` };
}
