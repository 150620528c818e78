/** Small building blocks every screen uses. */
import { micromark } from "micromark";
import { type ReactNode, useMemo } from "react";
import { ApiError, errorMessage } from "../api/problem";
import type { PersonCard, Space } from "../api/model";
import { Link } from "../app/router";
import { useI18n } from "../i18n";

export function Loading(): ReactNode {
  const { t } = useI18n();
  return (
    <p className="muted" role="status">
      {t("app.loading")}
    </p>
  );
}

/** An API error as a human message (problem+json → catalog text), with an optional retry. */
export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }): ReactNode {
  const { t } = useI18n();
  if (error === undefined || error === null) return null;
  const { key, params } = errorMessage(error);
  return (
    <div className="notice notice-error" role="alert">
      <span>{t(key, params)}</span>
      {onRetry ? (
        <button type="button" className="link-button" onClick={onRetry}>
          {t("app.retry")}
        </button>
      ) : null}
    </div>
  );
}

/**
 * A page whose main object could not be loaded. "Not found" looks exactly like
 * a page that does not exist (a partner learns nothing about what is outside
 * their pinholes); anything else offers a retry.
 */
export function PageError({ error, onRetry }: { error: unknown; onRetry: () => void }): ReactNode {
  const { t } = useI18n();
  if (error instanceof ApiError && (error.kind === "not-found" || error.kind === "forbidden")) {
    return (
      <section>
        <h1>{t("app.notFoundTitle")}</h1>
        <p>{t("app.notFoundBody")}</p>
        <p>
          <Link to="/">{t("nav.home")}</Link>
        </p>
      </section>
    );
  }
  return (
    <section>
      <h1>{t("error.title")}</h1>
      <ErrorNotice error={error} onRetry={onRetry} />
    </section>
  );
}

/** Markdown rendered safely: micromark escapes raw HTML and drops dangerous link protocols by default. */
export function Markdown({ source }: { source: string }): ReactNode {
  const html = useMemo(() => micromark(source), [source]);
  return <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}

/** The mark on everything partners can read. Shown on compose boxes, feed entries and posts. */
export function SharedBadge({ orgs }: { orgs?: readonly string[] }): ReactNode {
  const { t } = useI18n();
  const title = orgs && orgs.length > 0 ? `${t("shared.badge")}: ${orgs.join(", ")}` : t("shared.badge");
  return (
    <span className="badge badge-shared" title={title}>
      <span aria-hidden="true">⇄ </span>
      {t("shared.badge")}
    </span>
  );
}

/** " · <space title>" linking to the space, for a card's byline; nothing without a space. */
export function SpaceSuffix({ space }: { space: Space | null | undefined }): ReactNode {
  if (!space) return null;
  return (
    <>
      {" · "}
      <Link to={`/s/${encodeURIComponent(space.space_id)}`}>{space.title}</Link>
    </>
  );
}

export function isShared(space: Space | null | undefined): boolean {
  return !!space && (space.kind === "pinhole" || space.shared_with.length > 0);
}

export function PersonName({ card, id }: { card: PersonCard | null | undefined; id: string }): ReactNode {
  const { t } = useI18n();
  const name = card?.display_name || id;
  const external = card?.kind === "partner_user";
  return (
    <span className="person-name">
      <Link to={`/people/${encodeURIComponent(id)}`}>{name}</Link>
      {external ? (
        <span className="badge badge-external" title={t("shared.externalAuthor", { org: card?.org_display_name || card?.org_id || "" })}>
          {t("shared.badgeShort")}
          <span className="visually-hidden">: {t("shared.externalAuthor", { org: card?.org_display_name || card?.org_id || "" })}</span>
        </span>
      ) : null}
    </span>
  );
}

export function Time({ iso }: { iso: string | null | undefined }): ReactNode {
  const { relative, dateTime } = useI18n();
  if (!iso) return null;
  return (
    <time dateTime={iso} title={dateTime(iso)}>
      {relative(iso)}
    </time>
  );
}

export function TagList({ tags }: { tags: readonly string[] }): ReactNode {
  const { t } = useI18n();
  if (tags.length === 0) return null;
  return (
    <ul className="tags" aria-label={t("post.tags")}>
      {tags.map((tag) => (
        <li key={tag}>
          <Link to="/search" query={{ tag }} className="tag">
            #{tag}
          </Link>
        </li>
      ))}
    </ul>
  );
}

export function LoadMore({ hasMore, loading, onMore }: { hasMore: boolean; loading: boolean; onMore: () => void }): ReactNode {
  const { t } = useI18n();
  if (!hasMore) return null;
  return (
    <button type="button" className="button-secondary load-more" onClick={onMore} disabled={loading}>
      {loading ? t("app.loading") : t("app.loadMore")}
    </button>
  );
}
