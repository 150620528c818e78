import { type FormEvent, type ReactNode, useId, useState } from "react";
import { useMe } from "../app/me";
import { Link } from "../app/router";
import type { PersonCard } from "../api/model";
import { useApi } from "../api/port";
import { ErrorNotice, PageError, Loading, PersonName } from "../components/common";
import { useI18n } from "../i18n";
import { useAction, useResource } from "../lib/hooks";
import { parseTags } from "../lib/mentions";

function CardList({ cards, empty }: { cards: readonly PersonCard[]; empty: string }): ReactNode {
  if (cards.length === 0) return <p className="muted">{empty}</p>;
  return (
    <ul className="member-list">
      {cards.map((c) => (
        <li key={c.person_id}>
          <PersonName card={c} id={c.person_id} /> <span className="muted small">{c.title}</span>
        </li>
      ))}
    </ul>
  );
}

function DeclaredExpertise({ tags, onSaved }: { tags: readonly string[]; onSaved: () => void }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const id = useId();
  const [text, setText] = useState(tags.join(", "));
  const action = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await action.run(() => api.setDeclaredExpertise(parseTags(text)))) onSaved();
  };
  return (
    <form onSubmit={(e) => void submit(e)} className="toolbar">
      <div className="field grow">
        <label htmlFor={id}>{t("people.editExpertise")}</label>
        <input id={id} value={text} aria-describedby={`${id}-h`} onChange={(e) => setText(e.target.value)} />
        <span id={`${id}-h`} className="hint muted">
          {t("post.tagsHint")}
        </span>
      </div>
      <button type="submit" className="button-secondary" disabled={action.busy}>
        {t("app.save")}
      </button>
      <ErrorNotice error={action.error} />
    </form>
  );
}

export function PersonPage({ personId }: { personId: string }): ReactNode {
  const { t, number } = useI18n();
  const api = useApi();
  const me = useMe();
  const person = useResource(() => api.person(personId), [api, personId]);
  const employee = me.kind === "employee";
  const chain = useResource(() => (employee ? api.managerChain(personId) : Promise.resolve([])), [api, personId, employee]);
  const reports = useResource(() => (employee ? api.directReports(personId) : Promise.resolve([])), [api, personId, employee]);
  if (person.loading && !person.data) return <Loading />;
  if (!person.data) return <PageError error={person.error} onRetry={person.reload} />;
  const p = person.data;
  const external = p.card?.kind === "partner_user";
  return (
    <>
      <h1>{p.display_name}</h1>
      <dl className="facts">
        {p.title ? (
          <>
            <dt>{t("people.titleField")}</dt>
            <dd>{p.title}</dd>
          </>
        ) : null}
        {p.department ? (
          <>
            <dt>{t("people.department")}</dt>
            <dd>{p.department}</dd>
          </>
        ) : null}
        <dt>{t("people.org")}</dt>
        <dd>
          {p.card?.org_display_name || p.card?.org_id} {external ? <span className="badge badge-external">{t("shared.badgeShort")}</span> : null}
        </dd>
      </dl>
      {p.bio ? <p>{p.bio}</p> : null}
      <section aria-labelledby="expertise-title" data-testid="expertise">
        <h2 id="expertise-title">{t("people.expertise")}</h2>
        {p.declared_expertise.length === 0 && p.earned_expertise.length === 0 ? <p className="muted">{t("people.noExpertise")}</p> : null}
        {p.earned_expertise.length > 0 ? (
          <>
            <h3>{t("people.earned")}</h3>
            <ul className="tags" data-testid="earned-expertise">
              {p.earned_expertise.map((e) => (
                <li key={e.tag}>
                  <Link to="/experts" query={{ tag: e.tag }} className="tag tag-earned">
                    {t("people.earnedDetail", { tag: e.tag, count: number(e.accepted_answers) })}
                  </Link>
                </li>
              ))}
            </ul>
          </>
        ) : null}
        {p.declared_expertise.length > 0 ? (
          <>
            <h3>{t("people.declared")}</h3>
            <ul className="tags">
              {p.declared_expertise.map((tag) => (
                <li key={tag}>
                  <Link to="/experts" query={{ tag }} className="tag">
                    #{tag}
                  </Link>
                </li>
              ))}
            </ul>
          </>
        ) : null}
        {me.person_id === p.person_id ? <DeclaredExpertise tags={p.declared_expertise} onSaved={person.reload} /> : null}
      </section>
      {employee && !external ? (
        <section aria-labelledby="orgchart-title">
          <h2 id="orgchart-title">{t("people.orgChart")}</h2>
          <h3>{t("people.manager")}</h3>
          <ErrorNotice error={chain.error} />
          {chain.data && chain.data.length > 0 ? (
            <ol className="org-chain">
              {[...chain.data].reverse().map((c) => (
                <li key={c.person_id}>
                  <PersonName card={c} id={c.person_id} /> <span className="muted small">{c.title}</span>
                </li>
              ))}
              <li aria-current="true">
                <strong>{p.display_name}</strong>
              </li>
            </ol>
          ) : (
            <p className="muted">—</p>
          )}
          <h3>{t("people.reports")}</h3>
          <ErrorNotice error={reports.error} />
          <CardList cards={reports.data ?? []} empty={t("people.noReports")} />
        </section>
      ) : null}
    </>
  );
}
