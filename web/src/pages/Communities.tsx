import { type FormEvent, type ReactNode, useId, useState } from "react";
import { Link, navigate } from "../app/router";
import type { CommunityView, Role, Visibility } from "../api/model";
import { useApi } from "../api/port";
import { ErrorNotice, LoadMore, Loading } from "../components/common";
import { type MessageKey, useI18n } from "../i18n";
import { useAction, usePaged } from "../lib/hooks";

export const ROLE_KEYS: Record<Role, MessageKey> = {
  owner: "community.role.owner",
  moderator: "community.role.moderator",
  member: "community.role.member",
};

export const VISIBILITY_KEYS: Record<Visibility, MessageKey> = {
  open: "community.visibility.open",
  private: "community.visibility.private",
  secret: "community.visibility.secret",
};

/** Join (open) or request to join (private); shows the caller's role when a member. */
export function MembershipButton({ view, onChange }: { view: CommunityView; onChange: (next: CommunityView) => void }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const action = useAction();
  const { community } = view;
  if (view.my_role) return <span className="badge">{t("community.youAre", { role: t(ROLE_KEYS[view.my_role]) })}</span>;
  if (view.requested) return <span className="badge">{t("community.requested")}</span>;
  const open = community.visibility === "open";
  return (
    <span>
      <button
        type="button"
        className="button-secondary"
        disabled={action.busy}
        onClick={() =>
          void action.run(async () => {
            if (open) {
              await api.join(community.community_id);
              onChange({ ...view, my_role: "member", community: { ...community, member_count: community.member_count + 1 } });
            } else {
              await api.requestJoin(community.community_id, "");
              onChange({ ...view, requested: true });
            }
          })
        }
      >
        {open ? t("community.join") : t("community.requestJoin")}
        <span className="visually-hidden">: {community.name}</span>
      </button>
      <ErrorNotice error={action.error} />
    </span>
  );
}

function CreateCommunity(): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const id = useId();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [visibility, setVisibility] = useState<Visibility>("open");
  const action = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const created = await action.run(() => api.createCommunity(name.trim(), description, visibility));
    if (created) navigate(`/c/${encodeURIComponent(created.community.community_id)}`);
  };
  return (
    <details className="panel">
      <summary>{t("community.create")}</summary>
      <form onSubmit={(e) => void submit(e)}>
        <div className="field">
          <label htmlFor={`${id}-n`}>{t("community.name")}</label>
          <input id={`${id}-n`} value={name} required maxLength={100} onChange={(e) => setName(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-d`}>{t("community.description")}</label>
          <textarea id={`${id}-d`} value={description} rows={3} onChange={(e) => setDescription(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-v`}>{t("community.visibility")}</label>
          <select id={`${id}-v`} value={visibility} onChange={(e) => setVisibility(e.target.value as Visibility)}>
            {(Object.keys(VISIBILITY_KEYS) as Visibility[]).map((v) => (
              <option key={v} value={v}>
                {t(VISIBILITY_KEYS[v])}
              </option>
            ))}
          </select>
        </div>
        <ErrorNotice error={action.error} />
        <button type="submit" className="button-primary" disabled={action.busy}>
          {t("community.create")}
        </button>
      </form>
    </details>
  );
}

export function CommunitiesPage({ query }: { query: URLSearchParams }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const id = useId();
  const q = query.get("q") ?? "";
  const visibility = (query.get("visibility") ?? "") as Visibility | "";
  const mine = query.get("mine") === "1";
  const [text, setText] = useState(q);
  const list = usePaged(
    (token) => api.communities({ query: q || undefined, visibility: visibility || undefined, mine, pageToken: token }),
    [api, q, visibility, mine],
  );
  const go = (next: { q?: string; visibility?: string; mine?: boolean }) =>
    navigate("/communities", {
      q: next.q ?? q,
      visibility: next.visibility ?? visibility,
      mine: (next.mine ?? mine) ? "1" : undefined,
    });

  return (
    <>
      <h1>{t("community.directory")}</h1>
      <form
        role="search"
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          go({ q: text.trim() });
        }}
      >
        <div className="field grow">
          <label htmlFor={`${id}-q`}>{t("community.search")}</label>
          <input id={`${id}-q`} type="search" value={text} onChange={(e) => setText(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-v`}>{t("community.visibility")}</label>
          <select id={`${id}-v`} value={visibility} onChange={(e) => go({ visibility: e.target.value })}>
            <option value="">{t("community.visibility.any")}</option>
            {(Object.keys(VISIBILITY_KEYS) as Visibility[]).map((v) => (
              <option key={v} value={v}>
                {t(VISIBILITY_KEYS[v])}
              </option>
            ))}
          </select>
        </div>
        <label className="checkbox" htmlFor={`${id}-m`}>
          <input id={`${id}-m`} type="checkbox" checked={mine} onChange={(e) => go({ mine: e.target.checked })} />
          {t("community.mine")}
        </label>
        <button type="submit" className="button-primary">
          {t("search.submit")}
        </button>
      </form>
      <CreateCommunity />
      {list.loading && list.items.length === 0 ? <Loading /> : null}
      {!list.loading && list.items.length === 0 && !list.error ? <p className="muted">{t("community.empty")}</p> : null}
      <ul className="card-list" data-testid="community-list">
        {list.items.map((view) => (
          <li key={view.community.community_id} className="card">
            <h2>
              <Link to={`/c/${encodeURIComponent(view.community.community_id)}`}>{view.community.name}</Link>
            </h2>
            <p className="muted small">
              {view.community.visibility ? t(VISIBILITY_KEYS[view.community.visibility]) : null} ·{" "}
              {t("community.members", { count: view.community.member_count })}
            </p>
            <p>{view.community.description}</p>
            <MembershipButton view={view} onChange={(next) => list.update((items) => items.map((v) => (v.community.community_id === next.community.community_id ? next : v)))} />
          </li>
        ))}
      </ul>
      <ErrorNotice error={list.error} onRetry={list.reload} />
      <LoadMore hasMore={list.hasMore} loading={list.loading} onMore={list.loadMore} />
    </>
  );
}
