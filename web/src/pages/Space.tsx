import type { ReactNode } from "react";
import { Link } from "../app/router";
import { useApi } from "../api/port";
import { PageError, isShared, Loading, Markdown, SharedBadge } from "../components/common";
import { useI18n } from "../i18n";
import { useResource } from "../lib/hooks";
import { SpaceFeed } from "./Community";
import { useMe } from "../app/me";

export function SpacePage({ spaceId }: { spaceId: string }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const me = useMe();
  const space = useResource(() => api.space(spaceId), [api, spaceId]);
  const pinhole = useResource(
    () => (space.data?.kind === "pinhole" ? api.pinhole(spaceId) : Promise.resolve(null)),
    [api, spaceId, space.data?.kind],
  );
  if (space.loading && !space.data) return <Loading />;
  if (!space.data) return <PageError error={space.error} onRetry={space.reload} />;
  const data = space.data;
  return (
    <>
      <div className="page-head">
        <h1>{data.title}</h1>
        {isShared(data) ? <SharedBadge orgs={data.shared_with} /> : null}
      </div>
      {pinhole.data ? (
        <div className="panel">
          <Markdown source={pinhole.data.purpose} />
          {me.kind === "employee" ? (
            <p>
              <Link to={`/pinholes/${encodeURIComponent(spaceId)}`}>{t("pinhole.title")}</Link>
            </p>
          ) : null}
        </div>
      ) : null}
      {me.kind === "employee" ? (
        <p>
          <Link to={`/c/${encodeURIComponent(data.community_id)}`}>{t("app.back")}</Link>
        </p>
      ) : null}
      <SpaceFeed space={data} canPost={data.can_post !== false} />
    </>
  );
}
