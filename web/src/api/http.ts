/**
 * The Api over HTTP: each method is one or a few calls of the typed client
 * generated from the gateway's OpenAPI (client.ts). The gateway's answers are
 * the services' messages; this module adds what a screen shows around them
 * (author cards, the space and whether partners can read it), with small
 * caches so a feed page costs one cards call and a few space reads.
 */
import { demoToken, loadAuthConfig, loadDemoPeople } from "../auth/config";
import { mentionedIds } from "../lib/mentions";
import { call, client } from "./client";
import type { components } from "./generated/schema";
import type {
  Answer,
  AuditRecord,
  Comment,
  CommunityView,
  DiffLine,
  Expert,
  Me,
  Member,
  Notification,
  Page,
  Person,
  PersonCard,
  Pinhole,
  Post,
  PostView,
  Role,
  Space,
} from "./model";
import type { Api, PostDraft } from "./port";
import { ApiError, toApiError } from "./problem";

const PAGE_SIZE = 20;


/** A value per key, fetched once and kept for `ttlMs`; failures are not kept. */
class Cache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();
  constructor(private readonly ttlMs: number) {}
  get(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value;
    const value = load();
    this.entries.set(key, { at: Date.now(), value });
    value.catch(() => this.entries.delete(key));
    return value;
  }
  drop(key: string): void {
    this.entries.delete(key);
  }
  put(key: string, value: T): void {
    this.entries.set(key, { at: Date.now(), value: Promise.resolve(value) });
  }
  clear(): void {
    this.entries.clear();
  }
}

const cardCache = new Map<string, PersonCard | null>();
const spaceCache = new Cache<Space | null>(60_000);
const orgNames = new Cache<string>(10 * 60_000);
const membershipCache = new Cache<Map<string, Role>>(30_000);
const peopleByPlace = new Cache<readonly PersonCard[]>(60_000);

function etagOf(response: Response): string {
  return response.headers.get("etag") ?? "";
}

/** The revision an ETag names (`"3"` → 3); the wiki routes take it as base_revision too. */
function revisionOf(etag: string): number {
  const n = Number(etag.replace(/^W\//, "").replace(/"/g, ""));
  return Number.isInteger(n) && n > 0 ? n : 1;
}

function page<T>(items: readonly T[], next: string | null | undefined): Page<T> {
  return { items, next_page_token: next ?? "" };
}

async function cards(ids: readonly string[]): Promise<Map<string, PersonCard | null>> {
  const wanted = [...new Set(ids.filter((id) => id && !cardCache.has(id)))];
  for (let i = 0; i < wanted.length; i += 100) {
    const batch = wanted.slice(i, i + 100);
    const data = await call(client.GET("/v1/cards", { params: { query: { person_ids: batch } } }));
    for (const id of batch) cardCache.set(id, null);
    for (const card of data.cards) cardCache.set(card.person_id, toCard(card));
  }
  return new Map(ids.map((id) => [id, cardCache.get(id) ?? null]));
}

function toCard(card: {
  person_id: string;
  display_name: string;
  title: string;
  org_id: string;
  org_display_name: string;
  kind: "employee" | "partner_user" | null;
}): PersonCard {
  return { ...card };
}

async function orgName(orgId: string): Promise<string> {
  return orgNames.get(orgId, async () => {
    try {
      const data = await call(client.GET("/v1/orgs/{org_id}", { params: { path: { org_id: orgId } } }));
      return data.org?.display_name || orgId;
    } catch {
      return orgId;
    }
  });
}

function toPinhole(p: NonNullable<Awaited<ReturnType<typeof getPinholeRaw>>>, names: Map<string, string>): Pinhole {
  return {
    pinhole_id: p.pinhole_id,
    community_id: p.community_id,
    title: p.title,
    purpose: p.purpose,
    state: p.state,
    expires_at: p.expires_at,
    version: p.version,
    grants: p.grants.map((g) => ({
      org_id: g.org_id,
      org_display_name: names.get(g.org_id) ?? g.org_id,
      level: g.level,
      granted_at: g.granted_at,
    })),
  };
}

async function getPinholeRaw(pinholeId: string) {
  const data = await call(client.GET("/v1/pinholes/{pinhole_id}", { params: { path: { pinhole_id: pinholeId } } }));
  return data.pinhole;
}

async function pinholeView(raw: Awaited<ReturnType<typeof getPinholeRaw>>): Promise<Pinhole> {
  if (!raw) throw new ApiError("not-found", 404, {}, undefined, undefined);
  const names = new Map(await Promise.all(raw.grants.map(async (g) => [g.org_id, await orgName(g.org_id)] as const)));
  return toPinhole(raw, names);
}

/**
 * A space and who it is shared with. Feed entries read it through a short
 * cache; a page showing the space itself passes `fresh`, so a revoked or
 * closed pinhole is never shown from memory.
 */
async function space(spaceId: string, fresh = false): Promise<Space | null> {
  if (fresh) spaceCache.drop(spaceId);
  return spaceCache.get(spaceId, async () => {
    const data = await call(client.GET("/v1/spaces/{space_id}", { params: { path: { space_id: spaceId } } }));
    const s = data.space;
    if (!s) return null;
    let sharedWith: string[] = [];
    if (s.kind === "pinhole" && s.pinhole_state === "open") {
      try {
        const pinhole = await pinholeView(await getPinholeRaw(s.space_id));
        sharedWith = pinhole.grants.map((g) => g.org_display_name);
      } catch {
        sharedWith = [];
      }
    }
    return { space_id: s.space_id, kind: s.kind, community_id: s.community_id, title: s.title, shared_with: sharedWith };
  });
}

type RawPost = NonNullable<Awaited<ReturnType<typeof getPostRaw>>["data"]["post"]>;

async function getPostRaw(postId: string) {
  let response: Response | undefined;
  const data = await call(
    client.GET("/v1/posts/{post_id}", { params: { path: { post_id: postId } } }).then((r) => {
      response = r.response;
      return r;
    }),
  );
  return { data, etag: response ? etagOf(response) : "" };
}

function toPost(p: RawPost): Post {
  return {
    post_id: p.post_id,
    space_id: p.space_id,
    type: p.type,
    title: p.title,
    body: p.body,
    tags: p.tags,
    author_id: p.author_id,
    state: p.state,
    pinned: p.pinned,
    idea_status: p.idea_status,
    accepted_answer_id: p.accepted_answer_id,
    revision: p.revision,
    comment_count: p.comment_count,
    created_at: p.created_at,
    updated_at: p.updated_at,
    vote_count: p.vote_count,
    answer_count: p.answer_count,
    reactions: p.reactions,
  };
}

/** The spaces of `ids`, each read once; one the caller may no longer read is null. */
async function spacesById(ids: readonly string[]): Promise<Map<string, Space | null>> {
  return new Map(await Promise.all([...new Set(ids)].map(async (id) => [id, await space(id).catch(() => null)] as const)));
}

async function views(posts: readonly RawPost[]): Promise<PostView[]> {
  const people = await cards(posts.map((p) => p.author_id));
  const spaces = await spacesById(posts.map((p) => p.space_id));
  return posts.map((p) => ({
    post: toPost(p),
    author: people.get(p.author_id) ?? null,
    space: spaces.get(p.space_id) ?? null,
    viewer: null,
    etag: `"${p.revision}"`,
  }));
}

async function withAuthors<T extends { author_id: string }>(items: readonly T[]): Promise<(T & { author: PersonCard | null })[]> {
  const people = await cards(items.map((i) => i.author_id));
  return items.map((i) => ({ ...i, author: people.get(i.author_id) ?? null }));
}

async function myMemberships(): Promise<Map<string, Role>> {
  return membershipCache.get("me", async () => {
    const roles = new Map<string, Role>();
    let token = "";
    for (let i = 0; i < 10; i++) {
      const data = await call(client.GET("/v1/me/communities", { params: { query: { page_size: 100, page_token: token || undefined } } }));
      for (const c of data.communities) {
        if (c.community && c.membership?.role) roles.set(c.community.community_id, c.membership.role);
      }
      token = data.next_page_token;
      if (!token) break;
    }
    return roles;
  });
}

function toAnswer(a: {
  answer_id: string;
  question_id: string;
  author_id: string;
  body: string;
  score: number;
  accepted: boolean;
  created_at: string | null;
  my_vote: "up" | "down" | "none" | null;
}): Omit<Answer, "author"> {
  return {
    answer_id: a.answer_id,
    question_id: a.question_id,
    author_id: a.author_id,
    body: a.body,
    score: a.score,
    accepted: a.accepted,
    created_at: a.created_at,
    my_vote: a.my_vote,
  };
}

type RawNotification = components["schemas"]["Notification"];

function toNotification(n: RawNotification): Notification {
  // Fields the contract adds later (excerpt, actor name) are read when present.
  const extra = n as RawNotification & Partial<Record<"excerpt" | "community_id" | "actor_display_name", string>>;
  return {
    notification_id: n.notification_id,
    kind: n.kind,
    title: n.title,
    excerpt: extra.excerpt ?? "",
    space_id: n.space_id,
    post_id: n.post_id,
    community_id: extra.community_id ?? "",
    actor_display_name: extra.actor_display_name ?? "",
    created_at: n.created_at,
    read_at: n.read_at,
  };
}

export const httpApi: Api = {
  authConfig: loadAuthConfig,
  demoPeople: loadDemoPeople,
  devToken: demoToken,

  async me(): Promise<Me> {
    cardCache.clear();
    spaceCache.clear();
    membershipCache.clear();
    const data = await call(client.GET("/v1/me"));
    return { person_id: data.person_id, org_id: data.org_id, kind: data.kind, home_admin: data.home_admin };
  },

  // --- people ---------------------------------------------------------------
  async person(personId) {
    const data = await call(client.GET("/v1/people/{person_id}", { params: { path: { person_id: personId } } }));
    const p = data.person;
    if (!p) throw new ApiError("not-found", 404, {}, undefined, undefined);
    return {
      person_id: p.person_id,
      display_name: p.display_name,
      title: p.title,
      department: p.department,
      location: p.location,
      manager_id: p.manager_id,
      bio: p.bio,
      declared_expertise: p.declared_expertise,
      earned_expertise: p.earned_expertise.map((e) => ({ tag: e.tag, accepted_answers: e.accepted_answers })),
      card: p.card ? toCard(p.card) : null,
    } satisfies Person;
  },
  async cards(personIds) {
    const found = await cards(personIds);
    return personIds.map((id) => found.get(id)).filter((c): c is PersonCard => !!c);
  },
  async managerChain(personId) {
    const data = await call(client.GET("/v1/people/{person_id}/managers", { params: { path: { person_id: personId } } }));
    return data.managers.map(toCard);
  },
  async directReports(personId) {
    const data = await call(
      client.GET("/v1/people/{person_id}/reports", { params: { path: { person_id: personId }, query: { page_size: 100 } } }),
    );
    return data.reports.map(toCard);
  },
  async setDeclaredExpertise(tags) {
    await call(client.PUT("/v1/me/expertise", { body: { tags: [...tags] } }));
    const me = await call(client.GET("/v1/me"));
    return httpApi.person(me.person_id);
  },
  async findExperts(tag, pageToken) {
    const data = await call(
      client.GET("/v1/experts", { params: { query: { tags: [tag], page_size: PAGE_SIZE, page_token: pageToken } } }),
    );
    return page<Expert>(
      data.experts.map((e) => ({
        card: e.card ? toCard(e.card) : null,
        signals: e.signals.map((s) => ({ tag: s.tag, accepted_answers: s.accepted_answers, declared: s.declared })),
        earned_score: e.earned_score,
      })),
      data.next_page_token,
    );
  },
  async suggestPeople(prefix, spaceId) {
    // There is no name search in the people directory: suggestions are the
    // people who can read the space (its community's members), matched here.
    const where = spaceId ? await space(spaceId).catch(() => null) : null;
    const key = where?.community_id ?? "";
    const people = await peopleByPlace.get(key, async () => {
      if (!key) return [];
      const data = await call(
        client.GET("/v1/communities/{community_id}/members", { params: { path: { community_id: key }, query: { page_size: 100 } } }),
      );
      const found = await cards(data.memberships.map((m) => m.person_id));
      return [...found.values()].filter((c): c is PersonCard => !!c);
    });
    const q = prefix.toLowerCase();
    return people.filter((c) => c.display_name.toLowerCase().split(/\s+/).some((w) => w.startsWith(q)) || c.person_id.startsWith(q));
  },

  // --- communities ----------------------------------------------------------
  async communities(query) {
    const roles = await myMemberships();
    if (query.mine) {
      const items: CommunityView[] = [];
      for (const [communityId] of roles) {
        try {
          items.push(await httpApi.community(communityId));
        } catch {
          // A community archived or left meanwhile: not listed.
        }
      }
      const q = (query.query ?? "").toLowerCase();
      return page(
        items.filter((v) => (!q || v.community.name.toLowerCase().includes(q)) && (!query.visibility || v.community.visibility === query.visibility)),
        "",
      );
    }
    const data = await call(
      client.GET("/v1/communities", {
        params: {
          query: { name_prefix: query.query || undefined, visibility: query.visibility, page_size: PAGE_SIZE, page_token: query.pageToken },
        },
      }),
    );
    return page(
      data.communities.map((c) => ({ community: c, my_role: roles.get(c.community_id) ?? null, requested: false })),
      data.next_page_token,
    );
  },
  async community(communityId) {
    const data = await call(client.GET("/v1/communities/{community_id}", { params: { path: { community_id: communityId } } }));
    if (!data.community) throw new ApiError("not-found", 404, {}, undefined, undefined);
    return { community: data.community, my_role: data.my_membership?.role ?? null, requested: false };
  },
  async createCommunity(name, description, visibility) {
    const data = await call(client.POST("/v1/communities", { body: { name, description, visibility, tags: [] } }));
    membershipCache.clear();
    if (!data.community) throw new ApiError("server", 500, {}, undefined, undefined);
    return { community: data.community, my_role: "owner", requested: false };
  },
  async join(communityId) {
    await call(client.POST("/v1/communities/{community_id}/join", { params: { path: { community_id: communityId } } }));
    membershipCache.clear();
  },
  async requestJoin(communityId, message) {
    await call(client.POST("/v1/communities/{community_id}/join-requests", { params: { path: { community_id: communityId } }, body: { message } }));
  },
  async leave(communityId) {
    await call(client.POST("/v1/communities/{community_id}/leave", { params: { path: { community_id: communityId } } }));
    membershipCache.clear();
  },
  async members(communityId, pageToken) {
    const data = await call(
      client.GET("/v1/communities/{community_id}/members", {
        params: { path: { community_id: communityId }, query: { page_size: 50, page_token: pageToken } },
      }),
    );
    const found = await cards(data.memberships.map((m) => m.person_id));
    return page<Member>(
      data.memberships.map((m) => ({ person_id: m.person_id, role: m.role, card: found.get(m.person_id) ?? null })),
      data.next_page_token,
    );
  },
  async joinRequests(communityId) {
    const data = await call(
      client.GET("/v1/communities/{community_id}/join-requests", {
        params: { path: { community_id: communityId }, query: { state: "pending", page_size: 100 } },
      }),
    );
    const found = await cards(data.join_requests.map((r) => r.person_id));
    return data.join_requests.map((r) => ({
      community_id: r.community_id,
      person_id: r.person_id,
      message: r.message,
      requested_at: r.requested_at,
      card: found.get(r.person_id) ?? null,
    }));
  },
  async decideJoinRequest(communityId, personId, approve) {
    const path = { community_id: communityId, person_id: personId };
    if (approve) await call(client.POST("/v1/communities/{community_id}/join-requests/{person_id}/approve", { params: { path } }));
    else await call(client.POST("/v1/communities/{community_id}/join-requests/{person_id}/reject", { params: { path }, body: { reason: "" } }));
  },
  async changeRole(communityId, personId, role) {
    await call(
      client.PUT("/v1/communities/{community_id}/members/{person_id}/role", {
        params: { path: { community_id: communityId, person_id: personId } },
        body: { role },
      }),
    );
  },
  async spaces(communityId) {
    const view = await httpApi.community(communityId);
    const main = await space(view.community.main_space_id);
    const pinholes = await httpApi.pinholes(communityId).catch(() => []);
    const others = await Promise.all(pinholes.filter((p) => p.state !== "closed").map((p) => space(p.pinhole_id).catch(() => null)));
    return [main, ...others].filter((s): s is Space => !!s);
  },
  async space(spaceId) {
    const s = await space(spaceId, true);
    if (!s) throw new ApiError("not-found", 404, {}, undefined, undefined);
    return s;
  },

  // --- pinholes -------------------------------------------------------------
  async pinholes(communityId) {
    const data = await call(
      client.GET("/v1/communities/{community_id}/pinholes", { params: { path: { community_id: communityId }, query: { page_size: 100 } } }),
    );
    return Promise.all(data.pinholes.map((p) => pinholeView(p)));
  },
  async myPinholes() {
    const data = await call(client.GET("/v1/me/spaces", { params: { query: { page_size: 100 } } }));
    const ids = data.spaces.map((s) => s.space).filter((s) => s?.kind === "pinhole").map((s) => s?.space_id ?? "");
    const found = await Promise.all(ids.map((id) => httpApi.pinhole(id).catch(() => null)));
    return found.filter((p): p is Pinhole => !!p && p.state === "open");
  },
  async pinhole(pinholeId) {
    return pinholeView(await getPinholeRaw(pinholeId));
  },
  async openPinhole(communityId, title, purpose, expiresAt) {
    const proposed = await call(
      client.POST("/v1/communities/{community_id}/pinholes", {
        params: { path: { community_id: communityId } },
        body: { title, purpose, expires_at: expiresAt },
      }),
    );
    const id = proposed.pinhole?.pinhole_id ?? "";
    const opened = await call(client.POST("/v1/pinholes/{pinhole_id}/open", { params: { path: { pinhole_id: id } } }));
    return pinholeView(opened.pinhole);
  },
  async grantPinhole(pinholeId, orgId, level) {
    const data = await call(
      client.PUT("/v1/pinholes/{pinhole_id}/grants/{org_id}", { params: { path: { pinhole_id: pinholeId, org_id: orgId } }, body: { level } }),
    );
    spaceCache.clear();
    return pinholeView(data.pinhole);
  },
  async revokeGrant(pinholeId, orgId) {
    const data = await call(
      client.DELETE("/v1/pinholes/{pinhole_id}/grants/{org_id}", { params: { path: { pinhole_id: pinholeId, org_id: orgId } } }),
    );
    spaceCache.clear();
    return pinholeView(data.pinhole);
  },
  async closePinhole(pinholeId) {
    const data = await call(client.POST("/v1/pinholes/{pinhole_id}/close", { params: { path: { pinhole_id: pinholeId } } }));
    spaceCache.clear();
    return pinholeView(data.pinhole);
  },
  async pinholeParticipants(pinholeId) {
    // Who from outside took part: the partner authors of the pinhole's items.
    const data = await call(
      client.GET("/v1/spaces/{space_id}/posts", { params: { path: { space_id: pinholeId }, query: { page_size: 100 } } }),
    );
    const found = await cards(data.posts.map((p) => p.author_id));
    return [...found.values()].filter((c): c is PersonCard => !!c && c.kind === "partner_user");
  },
  async pinholeAudit(pinholeId, pageToken) {
    const data = await call(
      client.GET("/v1/pinholes/{pinhole_id}/audit", {
        params: { path: { pinhole_id: pinholeId }, query: { page_size: 50, page_token: pageToken } },
      }),
    );
    return page<AuditRecord>(
      data.records.map((r) => ({
        record_id: `${r.chain}:${r.seq}`,
        at: r.received_at,
        person_id: r.person_id,
        org_id: r.org_id,
        route: `${r.method} ${r.route}`,
        outcome: r.outcome,
      })),
      data.next_page_token,
    );
  },
  async partnerOrgs() {
    const data = await call(client.GET("/v1/orgs", { params: { query: { page_size: 100 } } }));
    return data.orgs.filter((o) => o.kind !== "home" && o.state !== "suspended").map((o) => ({ org_id: o.org_id, display_name: o.display_name }));
  },

  // --- content --------------------------------------------------------------
  async homeFeed(pageToken) {
    const data = await call(client.GET("/v1/feed", { params: { query: { page_size: PAGE_SIZE, page_token: pageToken } } }));
    return page(await views(data.posts), data.next_page_token);
  },
  async spaceFeed(spaceId, pageToken) {
    const data = await call(
      client.GET("/v1/spaces/{space_id}/posts", { params: { path: { space_id: spaceId }, query: { page_size: PAGE_SIZE, page_token: pageToken } } }),
    );
    return page(await views(data.posts), data.next_page_token);
  },
  async routedQuestions(pageToken) {
    const data = await call(
      client.GET("/v1/me/routed-questions", { params: { query: { state: "open", page_size: PAGE_SIZE, page_token: pageToken } } }),
    );
    const spaces = await spacesById(data.questions.map((q) => q.space_id));
    const routed = data.questions.map((q) => ({
      question_id: q.question_id,
      space_id: q.space_id,
      title: q.title,
      tags: q.tags,
      routed_at: q.routed_at ?? null,
      step: q.step,
      reason: q.reason === "expertise" || q.reason === "community_staff" ? q.reason : null,
      space: spaces.get(q.space_id) ?? null,
    }));
    return page(routed, data.next_page_token);
  },
  async post(postId) {
    const { data, etag } = await getPostRaw(postId);
    if (!data.post) throw new ApiError("not-found", 404, {}, undefined, undefined);
    const [view] = await views([data.post]);
    return { ...(view as PostView), viewer: data.viewer, etag: etag || `"${data.post.revision}"` };
  },
  async createPost(spaceId, draft: PostDraft) {
    const data = await call(
      client.POST("/v1/spaces/{space_id}/posts", {
        params: { path: { space_id: spaceId } },
        body: {
          type: draft.type,
          title: draft.title,
          body: draft.body,
          tags: [...draft.tags],
          mentioned_person_ids: mentionedIds(draft.body),
        },
      }),
    );
    if (!data.post) throw new ApiError("server", 500, {}, undefined, undefined);
    return toPost(data.post);
  },
  async editPost(postId, etag, draft, summary) {
    const fields = { title: draft.title, body: draft.body, tags: [...draft.tags], summary, mentioned_person_ids: mentionedIds(draft.body) };
    if (draft.type === "wiki_page") {
      const base = revisionOf(etag);
      await call(
        client.PUT("/v1/wiki/{page_id}", { params: { path: { page_id: postId }, header: { "If-Match": etag } }, body: { ...fields, base_revision: base } }),
      );
    } else {
      await call(client.PUT("/v1/posts/{post_id}", { params: { path: { post_id: postId }, header: { "If-Match": etag } }, body: fields }));
    }
    return httpApi.post(postId);
  },
  async answers(questionId, pageToken) {
    const data = await call(
      client.GET("/v1/questions/{question_id}/answers", {
        params: { path: { question_id: questionId }, query: { page_size: PAGE_SIZE, page_token: pageToken } },
      }),
    );
    return page(await withAuthors(data.answers.map(toAnswer)), data.next_page_token);
  },
  async postAnswer(questionId, body) {
    const data = await call(
      client.POST("/v1/questions/{question_id}/answers", {
        params: { path: { question_id: questionId } },
        body: { body, mentioned_person_ids: mentionedIds(body) },
      }),
    );
    if (!data.answer) throw new ApiError("server", 500, {}, undefined, undefined);
    const [answer] = await withAuthors([toAnswer(data.answer)]);
    return answer as Answer;
  },
  async voteAnswer(answerId, vote) {
    const data = await call(client.PUT("/v1/answers/{answer_id}/vote", { params: { path: { answer_id: answerId } }, body: { vote } }));
    if (!data.answer) throw new ApiError("server", 500, {}, undefined, undefined);
    const [answer] = await withAuthors([toAnswer(data.answer)]);
    return answer as Answer;
  },
  async acceptAnswer(questionId, answerId) {
    await call(client.POST("/v1/questions/{question_id}/accept", { params: { path: { question_id: questionId } }, body: { answer_id: answerId } }));
  },
  async voteIdea(postId, vote) {
    const path = { idea_id: postId };
    const data = vote
      ? await call(client.PUT("/v1/ideas/{idea_id}/vote", { params: { path } }))
      : await call(client.DELETE("/v1/ideas/{idea_id}/vote", { params: { path } }));
    if (!data.post) throw new ApiError("server", 500, {}, undefined, undefined);
    return toPost(data.post);
  },
  async setIdeaStatus(postId, status) {
    const data = await call(client.PUT("/v1/ideas/{idea_id}/status", { params: { path: { idea_id: postId } }, body: { status } }));
    if (!data.post) throw new ApiError("server", 500, {}, undefined, undefined);
    return toPost(data.post);
  },
  async comments(postId, pageToken) {
    const data = await call(
      client.GET("/v1/posts/{post_id}/comments", { params: { path: { post_id: postId }, query: { page_size: 50, page_token: pageToken } } }),
    );
    const items: Comment[] = await withAuthors(
      data.comments.map((c) => ({ comment_id: c.comment_id, post_id: c.post_id, author_id: c.author_id, body: c.body, created_at: c.created_at })),
    );
    return page(items, data.next_page_token);
  },
  async addComment(postId, body) {
    const data = await call(
      client.POST("/v1/posts/{post_id}/comments", { params: { path: { post_id: postId } }, body: { body, mentioned_person_ids: mentionedIds(body) } }),
    );
    const c = data.comment;
    if (!c) throw new ApiError("server", 500, {}, undefined, undefined);
    const [comment] = await withAuthors([{ comment_id: c.comment_id, post_id: c.post_id, author_id: c.author_id, body: c.body, created_at: c.created_at }]);
    return comment as Comment;
  },
  async react(postId, kind, on) {
    const path = { post_id: postId, kind };
    if (on) await call(client.PUT("/v1/posts/{post_id}/reactions/{kind}", { params: { path } }));
    else await call(client.DELETE("/v1/posts/{post_id}/reactions/{kind}", { params: { path } }));
  },
  async revisions(postId, pageToken) {
    const data = await call(
      client.GET("/v1/items/{item_id}/revisions", { params: { path: { item_id: postId }, query: { page_size: 50, page_token: pageToken } } }),
    );
    return page(
      await withAuthors(data.revisions.map((r) => ({
        item_id: r.item_id,
        revision: r.revision,
        title: r.title,
        body: r.body,
        author_id: r.author_id,
        summary: r.summary,
        restored_from_revision: r.restored_from_revision,
        created_at: r.created_at,
      }))),
      data.next_page_token,
    );
  },
  async diff(postId, from, to): Promise<readonly DiffLine[]> {
    const data = await call(
      client.GET("/v1/items/{item_id}/diff", { params: { path: { item_id: postId }, query: { from_revision: from, to_revision: to } } }),
    );
    return data.lines.map((l) => ({ op: l.op, text: l.text }));
  },
  async restoreRevision(postId, revision, etag) {
    await call(
      client.POST("/v1/wiki/{page_id}/restore", {
        params: { path: { page_id: postId }, header: { "If-Match": etag } },
        body: { revision, base_revision: revisionOf(etag), summary: "" },
      }),
    );
    return httpApi.post(postId);
  },
  async search(query) {
    let spaceId: string | undefined;
    if (query.communityId) spaceId = (await httpApi.community(query.communityId)).community.main_space_id;
    const data = await call(
      client.GET("/v1/search", {
        params: {
          query: {
            // The search needs words; a tag-only search looks for the tag itself within that tag.
            query: query.query || query.tag || "",
            type: query.type,
            space_id: spaceId,
            tag: query.tag || undefined,
            page_size: PAGE_SIZE,
            page_token: query.pageToken,
          },
        },
      }),
    );
    return page(await views(data.hits.map((h) => h.post).filter((p): p is RawPost => !!p)), data.next_page_token);
  },

  // --- notifications --------------------------------------------------------
  async inbox(unreadOnly, pageToken) {
    const data = await call(
      client.GET("/v1/notifications", { params: { query: { unread_only: unreadOnly || undefined, page_size: PAGE_SIZE, page_token: pageToken } } }),
    );
    return page(data.notifications.map(toNotification), data.next_page_token);
  },
  async unreadCount() {
    const data = await call(client.GET("/v1/notifications/unread-count"));
    return data.unread_count;
  },
  async markRead(notificationIds) {
    await call(client.POST("/v1/notifications/read", { body: { notification_ids: [...notificationIds] } }));
  },
  async markAllRead() {
    await call(client.POST("/v1/notifications/read-all", { body: {} }));
  },
  async openNotificationStream(lastEventId, signal) {
    const result = await client.GET("/v1/events", {
      parseAs: "stream",
      signal,
      params: { header: lastEventId ? { "Last-Event-ID": lastEventId } : {} },
      headers: { Accept: "text/event-stream" },
    });
    if (!result.response.ok || !result.response.body) {
      const body: unknown = await result.response.json().catch(() => undefined);
      throw toApiError(result.response.status, body, result.response.headers);
    }
    return result.response.body;
  },
  async subscription(target) {
    const data = target.postId
      ? await call(client.GET("/v1/posts/{post_id}/subscription", { params: { path: { post_id: target.postId } } }))
      : await call(client.GET("/v1/spaces/{space_id}/subscription", { params: { path: { space_id: target.spaceId ?? "" } } }));
    return data.subscription?.level ?? "normal";
  },
  async setSubscription(target, level) {
    if (target.postId) {
      await call(client.PUT("/v1/posts/{post_id}/subscription", { params: { path: { post_id: target.postId } }, body: { level } }));
    } else {
      await call(client.PUT("/v1/spaces/{space_id}/subscription", { params: { path: { space_id: target.spaceId ?? "" } }, body: { level } }));
    }
  },
  async communityDefault(communityId) {
    const data = await call(
      client.GET("/v1/communities/{community_id}/default-subscription", { params: { path: { community_id: communityId } } }),
    );
    return data.community_default?.level ?? "normal";
  },
  async setCommunityDefault(communityId, level) {
    await call(
      client.PUT("/v1/communities/{community_id}/default-subscription", {
        params: { path: { community_id: communityId } },
        body: { level },
      }),
    );
  },
  async digestFrequency() {
    const data = await call(client.GET("/v1/me/preferences"));
    return data.preferences?.digest_frequency ?? "daily";
  },
  async setDigestFrequency(frequency) {
    await call(client.PATCH("/v1/me/preferences", { body: { digest_frequency: frequency } }));
  },
};
