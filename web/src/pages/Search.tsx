import { type ReactNode, useId, useState } from "react";
import { Link, navigate } from "../app/router";
import type { PostType, Space } from "../api/model";
import { useApi } from "../api/port";
import { ErrorNotice, LoadMore, Loading } from "../components/common";
import { Composer } from "../components/Composer";
import { PostList, TYPE_KEYS } from "../components/PostCard";
import { useI18n } from "../i18n";
import { usePaged, useResource } from "../lib/hooks";

function useMyCommunities() {
  const api = useApi();
  return useResource(async () => (await api.communities({ mine: true })).items, [api]);
}

export function SearchPage({ query }: { query: URLSearchParams }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const id = useId();
  const q = query.get("q") ?? "";
  const type = (query.get("type") ?? "") as PostType | "";
  const community = query.get("community") ?? "";
  const tag = query.get("tag") ?? "";
  const [text, setText] = useState(q);
  const mine = useMyCommunities();
  const active = q !== "" || tag !== "";
  const results = usePaged(
    (token) =>
      active
        ? api.search({ query: q, type: type || undefined, communityId: community || undefined, tag: tag || undefined, pageToken: token })
        : Promise.resolve({ items: [], next_page_token: "" }),
    [api, q, type, community, tag],
  );
  const go = (next: Partial<Record<"q" | "type" | "community" | "tag", string>>) =>
    navigate("/search", { q, type, community, tag, ...next });

  return (
    <>
      <h1>{t("search.title")}</h1>
      <form
        role="search"
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          go({ q: text.trim() });
        }}
      >
        <div className="field grow">
          <label htmlFor={`${id}-q`}>{t("search.query")}</label>
          <input id={`${id}-q`} type="search" value={text} maxLength={200} onChange={(e) => setText(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-t`}>{t("search.type")}</label>
          <select id={`${id}-t`} value={type} onChange={(e) => go({ type: e.target.value })}>
            <option value="">{t("search.anyType")}</option>
            {(Object.keys(TYPE_KEYS) as PostType[]).map((k) => (
              <option key={k} value={k}>
                {t(TYPE_KEYS[k])}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-c`}>{t("search.community")}</label>
          <select id={`${id}-c`} value={community} onChange={(e) => go({ community: e.target.value })}>
            <option value="">{t("search.anyCommunity")}</option>
            {(mine.data ?? []).map((v) => (
              <option key={v.community.community_id} value={v.community.community_id}>
                {v.community.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-g`}>{t("search.tag")}</label>
          <input id={`${id}-g`} defaultValue={tag} key={tag} onBlur={(e) => e.target.value.trim() !== tag && go({ tag: e.target.value.trim().toLowerCase() })} />
        </div>
        <button type="submit" className="button-primary">
          {t("search.submit")}
        </button>
      </form>
      {active ? (
        <section aria-labelledby={`${id}-r`} data-testid="search-results">
          <h2 id={`${id}-r`} aria-live="polite">
            {results.loading && results.items.length === 0 ? t("app.loading") : t("search.results", { count: results.items.length })}
          </h2>
          {results.loading && results.items.length === 0 ? <Loading /> : <PostList items={results.items} emptyText="" />}
          <ErrorNotice error={results.error} onRetry={results.reload} />
          <LoadMore hasMore={results.hasMore} loading={results.loading} onMore={results.loadMore} />
          {!results.loading && q && results.items.length < 3 ? (
            <div className="panel">
              <p>{t("search.noGoodResult")}</p>
              <Link to="/ask" query={{ title: q, community: community || undefined }} className="button-primary">
                {t("question.askAsQuestion", { query: q })}
              </Link>
            </div>
          ) : null}
        </section>
      ) : null}
    </>
  );
}

/** "Ask it as a question": choose the community, then the compose box with the search as the title. */
export function AskPage({ query }: { query: URLSearchParams }): ReactNode {
  const { t } = useI18n();
  const id = useId();
  const mine = useMyCommunities();
  const title = query.get("title") ?? "";
  const [communityId, setCommunityId] = useState(query.get("community") ?? "");
  const chosen = (mine.data ?? []).find((v) => v.community.community_id === communityId) ?? mine.data?.[0];
  if (mine.loading && !mine.data) return <Loading />;
  const space: Space | null = chosen
    ? { space_id: chosen.community.main_space_id, kind: "community", community_id: chosen.community.community_id, title: chosen.community.name, shared_with: [] }
    : null;
  return (
    <>
      <h1>{t("question.askAsQuestion", { query: title })}</h1>
      <ErrorNotice error={mine.error} onRetry={mine.reload} />
      <div className="field">
        <label htmlFor={`${id}-c`}>{t("search.community")}</label>
        <select id={`${id}-c`} value={chosen?.community.community_id ?? ""} onChange={(e) => setCommunityId(e.target.value)}>
          {(mine.data ?? []).map((v) => (
            <option key={v.community.community_id} value={v.community.community_id}>
              {v.community.name}
            </option>
          ))}
        </select>
      </div>
      {space ? (
        <Composer
          key={space.space_id}
          space={space}
          types={["question"]}
          initialType="question"
          initialTitle={title}
          onPosted={(post) => navigate(`/p/${encodeURIComponent(post.post_id)}`)}
        />
      ) : null}
    </>
  );
}
