/**
 * A wiki page's revisions: pick any two and read the line diff between them;
 * restore any revision (it becomes a new revision, nothing is lost).
 */
import { type ReactNode, useId, useState } from "react";
import { Link, navigate } from "../app/router";
import type { DiffLine } from "../api/model";
import { useApi } from "../api/port";
import { ErrorNotice, LoadMore, Loading, PersonName, Time } from "../components/common";
import { useI18n } from "../i18n";
import { useAction, usePaged, useResource } from "../lib/hooks";

export function DiffView({ lines }: { lines: readonly DiffLine[] }): ReactNode {
  const { t } = useI18n();
  if (lines.every((l) => l.op === "equal")) return <p className="muted">{t("wiki.noChanges")}</p>;
  return (
    <ol className="diff" data-testid="diff">
      {lines.map((line, index) => {
        const op = line.op ?? "equal";
        const label = op === "insert" ? t("wiki.added") : op === "delete" ? t("wiki.removed") : t("wiki.unchanged");
        return (
          <li key={index} className={`diff-${op}`}>
            <span className="diff-sign" aria-hidden="true">
              {op === "insert" ? "+" : op === "delete" ? "−" : " "}
            </span>
            {op === "equal" ? null : <span className="visually-hidden">{label}: </span>}
            {op === "insert" ? <ins>{line.text || " "}</ins> : op === "delete" ? <del>{line.text || " "}</del> : <span>{line.text || " "}</span>}
          </li>
        );
      })}
    </ol>
  );
}

export function WikiHistoryPage({ postId, query }: { postId: string; query: URLSearchParams }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const id = useId();
  const post = useResource(() => api.post(postId), [api, postId]);
  const revisions = usePaged((token) => api.revisions(postId, token), [api, postId]);
  const from = Number(query.get("from") ?? "0");
  const to = Number(query.get("to") ?? "0");
  const [pick, setPick] = useState<{ from: number; to: number }>({ from, to });
  const diff = useResource(() => (from > 0 && to > 0 ? api.diff(postId, from, to) : Promise.resolve(null)), [api, postId, from, to]);
  const action = useAction();
  const [restored, setRestored] = useState<number | null>(null);

  const items = revisions.items;
  const latest = items.reduce((m, r) => Math.max(m, r.revision), 0);
  const selFrom = pick.from || (items[1]?.revision ?? 0);
  const selTo = pick.to || latest;

  return (
    <>
      <p>
        <Link to={`/p/${encodeURIComponent(postId)}`}>{post.data?.post.title ?? t("app.back")}</Link>
      </p>
      <h1>{t("wiki.history")}</h1>
      <ErrorNotice error={post.error ?? revisions.error} onRetry={revisions.reload} />
      {restored !== null ? (
        <p className="notice notice-success" role="status">
          {t("wiki.restored", { number: restored })}
        </p>
      ) : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`/p/${encodeURIComponent(postId)}/history`, { from: String(selFrom), to: String(selTo) });
        }}
      >
        <table className="revisions">
          <caption className="visually-hidden">{t("wiki.history")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("wiki.from")}</th>
              <th scope="col">{t("wiki.to")}</th>
              <th scope="col">{t("wiki.revision", { number: "" })}</th>
              <th scope="col">
                <span className="visually-hidden">{t("wiki.restore")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.revision} data-revision={r.revision}>
                <td>
                  <input
                    type="radio"
                    name={`${id}-from`}
                    aria-label={`${t("wiki.from")} ${r.revision}`}
                    checked={selFrom === r.revision}
                    onChange={() => setPick({ from: r.revision, to: selTo })}
                  />
                </td>
                <td>
                  <input
                    type="radio"
                    name={`${id}-to`}
                    aria-label={`${t("wiki.to")} ${r.revision}`}
                    checked={selTo === r.revision}
                    onChange={() => setPick({ from: selFrom, to: r.revision })}
                  />
                </td>
                <td>
                  <strong>{t("wiki.revision", { number: r.revision })}</strong> · <PersonName card={r.author} id={r.author_id} /> · <Time iso={r.created_at} />
                  {r.summary ? <span className="muted"> — {r.summary}</span> : null}
                </td>
                <td>
                  {r.revision !== latest && post.data ? (
                    <button
                      type="button"
                      className="button-secondary small"
                      disabled={action.busy}
                      onClick={() =>
                        void action.run(async () => {
                          const next = await api.restoreRevision(postId, r.revision, post.data?.etag ?? "");
                          post.set(next);
                          setRestored(r.revision);
                          revisions.reload();
                        })
                      }
                    >
                      {t("wiki.restore")}
                      <span className="visually-hidden">: {t("wiki.revision", { number: r.revision })}</span>
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {revisions.loading && items.length === 0 ? <Loading /> : null}
        <LoadMore hasMore={revisions.hasMore} loading={revisions.loading} onMore={revisions.loadMore} />
        <button type="submit" className="button-primary" disabled={items.length < 2}>
          {t("wiki.compare")}
        </button>
      </form>
      <ErrorNotice error={action.error} />
      {from > 0 && to > 0 ? (
        <section aria-labelledby={`${id}-diff`}>
          <h2 id={`${id}-diff`}>{t("wiki.diffTitle", { from, to })}</h2>
          {diff.loading ? <Loading /> : null}
          <ErrorNotice error={diff.error} onRetry={diff.reload} />
          {diff.data ? <DiffView lines={diff.data} /> : null}
        </section>
      ) : null}
    </>
  );
}
