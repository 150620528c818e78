import { type ReactNode, useId, useState } from "react";
import { navigate } from "../app/router";
import { useApi } from "../api/port";
import { ErrorNotice, LoadMore, Loading, PersonName } from "../components/common";
import { useI18n } from "../i18n";
import { usePaged } from "../lib/hooks";

export function ExpertsPage({ tag }: { tag: string }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const id = useId();
  const [text, setText] = useState(tag);
  const experts = usePaged((token) => (tag ? api.findExperts(tag, token) : Promise.resolve({ items: [], next_page_token: "" })), [api, tag]);
  return (
    <>
      <h1>{t("people.experts")}</h1>
      <form
        role="search"
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          navigate("/experts", { tag: text.trim().toLowerCase().replace(/^#/, "") });
        }}
      >
        <div className="field grow">
          <label htmlFor={id}>{t("people.expertsFor")}</label>
          <input id={id} value={text} onChange={(e) => setText(e.target.value)} />
        </div>
        <button type="submit" className="button-primary">
          {t("search.submit")}
        </button>
      </form>
      {tag && experts.loading && experts.items.length === 0 ? <Loading /> : null}
      {tag && !experts.loading && experts.items.length === 0 && !experts.error ? <p className="muted">{t("people.expertsEmpty")}</p> : null}
      <ul className="member-list" data-testid="experts">
        {experts.items.map((e) => (
          <li key={e.card?.person_id}>
            <PersonName card={e.card} id={e.card?.person_id ?? ""} /> <span className="muted small">{e.card?.title}</span>
            <ul className="tags">
              {e.signals.map((s) => (
                <li key={s.tag} className="tag">
                  {s.accepted_answers > 0 ? t("people.earnedDetail", { tag: s.tag, count: s.accepted_answers }) : `#${s.tag} · ${t("people.declared")}`}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
      <ErrorNotice error={experts.error} onRetry={experts.reload} />
      <LoadMore hasMore={experts.hasMore} loading={experts.loading} onMore={experts.loadMore} />
    </>
  );
}
