import { type FormEvent, type ReactNode, useId, useState } from "react";
import { Link, navigate } from "../app/router";
import type { CommunityView, Role, Space, SubscriptionLevel } from "../api/model";
import { useApi } from "../api/port";
import { Composer } from "../components/Composer";
import { ErrorNotice, PageError, isShared, LoadMore, Loading, PersonName, SharedBadge, Time } from "../components/common";
import { PostList } from "../components/PostCard";
import { type MessageKey, useI18n } from "../i18n";
import { useAction, usePaged, useResource } from "../lib/hooks";
import { MembershipButton, ROLE_KEYS, VISIBILITY_KEYS } from "./Communities";
import { PINHOLE_STATE_KEYS } from "./Pinhole";
import { LEVEL_KEYS } from "./Settings";

export function SpaceFeed({ space, canPost }: { space: Space; canPost: boolean }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const feed = usePaged((token) => api.spaceFeed(space.space_id, token), [api, space.space_id]);
  return (
    <>
      {canPost ? <Composer space={space} onPosted={() => feed.reload()} /> : null}
      <section aria-labelledby="space-feed-title" data-testid="space-feed">
        <h2 id="space-feed-title">{t("community.tabFeed")}</h2>
        {feed.loading && feed.items.length === 0 ? <Loading /> : <PostList items={feed.items} emptyText={t("home.feedEmpty")} />}
        <ErrorNotice error={feed.error} onRetry={feed.reload} />
        <LoadMore hasMore={feed.hasMore} loading={feed.loading} onMore={feed.loadMore} />
      </section>
    </>
  );
}

function Spaces({ communityId }: { communityId: string }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const spaces = useResource(() => api.spaces(communityId), [api, communityId]);
  if (spaces.loading && !spaces.data) return <Loading />;
  return (
    <section>
      <h2>{t("community.spaces")}</h2>
      <ErrorNotice error={spaces.error} onRetry={spaces.reload} />
      <ul className="card-list">
        {(spaces.data ?? []).map((space) => (
          <li key={space.space_id} className="card">
            <h3>
              <Link to={`/s/${encodeURIComponent(space.space_id)}`}>{space.kind === "community" ? t("community.mainSpace") : space.title}</Link>
            </h3>
            {isShared(space) ? <SharedBadge orgs={space.shared_with} /> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Members({ view }: { view: CommunityView }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const id = useId();
  const members = usePaged((token) => api.members(view.community.community_id, token), [api, view.community.community_id]);
  const action = useAction();
  const owner = view.my_role === "owner";
  return (
    <section>
      <h2>{t("community.tabMembers")}</h2>
      <ErrorNotice error={action.error} />
      <ul className="member-list">
        {members.items.map((m, index) => (
          <li key={m.person_id}>
            <PersonName card={m.card} id={m.person_id} /> <span className="muted small">{m.card?.title}</span>
            {owner ? (
              <span className="field inline">
                <label htmlFor={`${id}-${index}`} className="visually-hidden">
                  {t("community.changeRole", { name: m.card?.display_name ?? m.person_id })}
                </label>
                <select
                  id={`${id}-${index}`}
                  value={m.role ?? "member"}
                  disabled={action.busy}
                  onChange={(e) => {
                    const role = e.target.value as Role;
                    void action.run(async () => {
                      await api.changeRole(view.community.community_id, m.person_id, role);
                      members.update((items) => items.map((x) => (x.person_id === m.person_id ? { ...x, role } : x)));
                    });
                  }}
                >
                  {(Object.keys(ROLE_KEYS) as Role[]).map((role) => (
                    <option key={role} value={role}>
                      {t(ROLE_KEYS[role])}
                    </option>
                  ))}
                </select>
              </span>
            ) : (
              <span className="badge">{m.role ? t(ROLE_KEYS[m.role]) : null}</span>
            )}
          </li>
        ))}
      </ul>
      {members.loading && members.items.length === 0 ? <Loading /> : null}
      <ErrorNotice error={members.error} onRetry={members.reload} />
      <LoadMore hasMore={members.hasMore} loading={members.loading} onMore={members.loadMore} />
    </section>
  );
}

function DefaultLevel({ communityId }: { communityId: string }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const id = useId();
  const level = useResource(() => api.communityDefault(communityId), [api, communityId]);
  const action = useAction();
  return (
    <section>
      <h2>{t("community.settings")}</h2>
      <div className="field">
        <label htmlFor={id}>{t("community.defaultLevel")}</label>
        <select
          id={id}
          value={level.data ?? "normal"}
          disabled={!level.data || action.busy}
          onChange={(e) => {
            const next = e.target.value as SubscriptionLevel;
            void action.run(async () => {
              await api.setCommunityDefault(communityId, next);
              level.set(next);
            });
          }}
        >
          {(Object.keys(LEVEL_KEYS) as SubscriptionLevel[]).map((l) => (
            <option key={l} value={l}>
              {t(LEVEL_KEYS[l])}
            </option>
          ))}
        </select>
        <ErrorNotice error={action.error ?? level.error} />
      </div>
    </section>
  );
}

function Moderation({ view }: { view: CommunityView }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const requests = useResource(() => api.joinRequests(view.community.community_id), [api, view.community.community_id]);
  const action = useAction();
  return (
    <>
    <DefaultLevel communityId={view.community.community_id} />
    <section>
      <h2>{t("community.joinRequests")}</h2>
      {requests.loading && !requests.data ? <Loading /> : null}
      <ErrorNotice error={requests.error ?? action.error} onRetry={requests.reload} />
      {requests.data?.length === 0 ? <p className="muted">{t("community.noJoinRequests")}</p> : null}
      <ul className="member-list">
        {(requests.data ?? []).map((r) => (
          <li key={r.person_id}>
            <PersonName card={r.card} id={r.person_id} /> <Time iso={r.requested_at} />
            {r.message ? <q>{r.message}</q> : null}
            {[true, false].map((approve) => (
              <button
                key={String(approve)}
                type="button"
                className={approve ? "button-primary small" : "button-secondary small"}
                disabled={action.busy}
                onClick={() =>
                  void action.run(async () => {
                    await api.decideJoinRequest(view.community.community_id, r.person_id, approve);
                    requests.set((requests.data ?? []).filter((x) => x.person_id !== r.person_id));
                  })
                }
              >
                {approve ? t("community.approve") : t("community.reject")}
                <span className="visually-hidden">: {r.card?.display_name ?? r.person_id}</span>
              </button>
            ))}
          </li>
        ))}
      </ul>
    </section>
    </>
  );
}

function OpenPinhole({ communityId }: { communityId: string }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const id = useId();
  const [title, setTitle] = useState("");
  const [purpose, setPurpose] = useState("");
  const [expires, setExpires] = useState("");
  const action = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const pinhole = await action.run(() =>
      api.openPinhole(communityId, title.trim(), purpose, expires ? new Date(`${expires}T23:59:59Z`).toISOString() : null),
    );
    if (pinhole) navigate(`/pinholes/${encodeURIComponent(pinhole.pinhole_id)}`);
  };
  return (
    <form className="panel" onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>{t("pinhole.open")}</h3>
      <p className="muted">{t("pinhole.explain")}</p>
      <div className="field">
        <label htmlFor={`${id}-t`}>{t("pinhole.name")}</label>
        <input id={`${id}-t`} value={title} required maxLength={200} onChange={(e) => setTitle(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-p`}>{t("pinhole.purpose")}</label>
        <textarea id={`${id}-p`} value={purpose} rows={3} onChange={(e) => setPurpose(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-e`}>
          {t("pinhole.expiry")} <span className="muted">({t("app.optional")})</span>
        </label>
        <input id={`${id}-e`} type="date" value={expires} onChange={(e) => setExpires(e.target.value)} />
      </div>
      <ErrorNotice error={action.error} />
      <button type="submit" className="button-primary" disabled={action.busy}>
        {t("pinhole.open")}
      </button>
    </form>
  );
}

function Pinholes({ view }: { view: CommunityView }): ReactNode {
  const { t, date } = useI18n();
  const api = useApi();
  const pinholes = useResource(() => api.pinholes(view.community.community_id), [api, view.community.community_id]);
  return (
    <section>
      <h2>{t("pinhole.title")}</h2>
      {pinholes.loading && !pinholes.data ? <Loading /> : null}
      <ErrorNotice error={pinholes.error} onRetry={pinholes.reload} />
      <ul className="card-list">
        {(pinholes.data ?? []).map((p) => (
          <li key={p.pinhole_id} className="card">
            <h3>
              <Link to={`/pinholes/${encodeURIComponent(p.pinhole_id)}`}>{p.title}</Link>
            </h3>
            <p className="muted small">
              {p.state ? t(PINHOLE_STATE_KEYS[p.state]) : null}
              {p.expires_at ? ` · ${t("pinhole.expires", { date: date(p.expires_at) })}` : null}
            </p>
            {p.state === "open" && p.grants.length > 0 ? <SharedBadge orgs={p.grants.map((g) => g.org_display_name || g.org_id)} /> : null}
          </li>
        ))}
      </ul>
      {view.my_role === "owner" ? <OpenPinhole communityId={view.community.community_id} /> : null}
    </section>
  );
}

const TABS: ReadonlyArray<{ id: string; key: MessageKey; staff?: boolean }> = [
  { id: "feed", key: "community.tabFeed" },
  { id: "spaces", key: "community.tabSpaces" },
  { id: "members", key: "community.tabMembers" },
  { id: "pinholes", key: "community.tabPinholes" },
  { id: "moderation", key: "community.tabModeration", staff: true },
];

export function CommunityPage({ communityId, tab }: { communityId: string; tab: string }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const view = useResource(() => api.community(communityId), [api, communityId]);
  if (view.loading && !view.data) return <Loading />;
  if (!view.data) return <PageError error={view.error} onRetry={view.reload} />;
  const data = view.data;
  const { community } = data;
  const staff = data.my_role === "owner" || data.my_role === "moderator";
  const tabs = TABS.filter((x) => !x.staff || staff);
  const current = tabs.some((x) => x.id === tab) ? tab : "feed";
  const mainSpace: Space = { space_id: community.main_space_id, kind: "community", community_id: community.community_id, title: community.name, shared_with: [] };
  return (
    <>
      <div className="page-head">
        <h1>{community.name}</h1>
        <MembershipButton view={data} onChange={view.set} />
      </div>
      <p className="muted small">
        {community.visibility ? t(VISIBILITY_KEYS[community.visibility]) : null} · {t("community.members", { count: community.member_count })}
      </p>
      <p>{community.description}</p>
      <nav aria-label={community.name} className="tabs">
        <ul>
          {tabs.map((x) => (
            <li key={x.id}>
              <Link to={`/c/${encodeURIComponent(communityId)}`} query={{ tab: x.id === "feed" ? undefined : x.id }} aria-current={x.id === current ? "page" : undefined}>
                {t(x.key)}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      {current === "feed" ? <SpaceFeed space={mainSpace} canPost={data.my_role !== null} /> : null}
      {current === "spaces" ? <Spaces communityId={communityId} /> : null}
      {current === "members" ? <Members view={data} /> : null}
      {current === "pinholes" ? <Pinholes view={data} /> : null}
      {current === "moderation" && staff ? <Moderation view={data} /> : null}
    </>
  );
}
