import { type ReactNode, useId } from "react";
import { useMe } from "../app/me";
import type { CommunityView, DigestFrequency, SubscriptionLevel } from "../api/model";
import { useApi } from "../api/port";
import { ErrorNotice, Loading } from "../components/common";
import { LanguagePicker } from "../components/LanguagePicker";
import { type MessageKey, useI18n } from "../i18n";
import { useAction, useResource } from "../lib/hooks";

export const LEVEL_KEYS: Record<SubscriptionLevel, MessageKey> = {
  watching: "settings.level.watching",
  tracking: "settings.level.tracking",
  normal: "settings.level.normal",
  muted: "settings.level.muted",
};

const DIGEST_KEYS: Record<DigestFrequency, MessageKey> = {
  off: "settings.digest.off",
  hourly: "settings.digest.hourly",
  daily: "settings.digest.daily",
  weekly: "settings.digest.weekly",
};

function CommunityLevel({ view }: { view: CommunityView }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const id = useId();
  const spaceId = view.community.main_space_id;
  const level = useResource(() => api.subscription({ spaceId }), [api, spaceId]);
  const action = useAction();
  return (
    <li className="field">
      <label htmlFor={id}>{t("settings.levelFor", { name: view.community.name })}</label>
      <select
        id={id}
        value={level.data ?? "normal"}
        disabled={!level.data || action.busy}
        onChange={(e) => {
          const next = e.target.value as SubscriptionLevel;
          void action.run(async () => {
            await api.setSubscription({ spaceId }, next);
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
    </li>
  );
}

export function SettingsPage(): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const me = useMe();
  const id = useId();
  const digest = useResource(() => api.digestFrequency(), [api]);
  const communities = useResource(async () => (me.kind === "employee" ? (await api.communities({ mine: true })).items : []), [api, me.kind]);
  const action = useAction();
  return (
    <>
      <h1>{t("settings.title")}</h1>
      <section aria-labelledby={`${id}-lang`} className="panel">
        <h2 id={`${id}-lang`}>{t("settings.language")}</h2>
        <LanguagePicker />
      </section>
      <section aria-labelledby={`${id}-n`} className="panel">
        <h2 id={`${id}-n`}>{t("settings.notifications")}</h2>
        <div className="field">
          <label htmlFor={`${id}-d`}>{t("settings.digest")}</label>
          <select
            id={`${id}-d`}
            value={digest.data ?? "daily"}
            disabled={!digest.data || action.busy}
            onChange={(e) => {
              const next = e.target.value as DigestFrequency;
              void action.run(async () => {
                await api.setDigestFrequency(next);
                digest.set(next);
              });
            }}
          >
            {(Object.keys(DIGEST_KEYS) as DigestFrequency[]).map((d) => (
              <option key={d} value={d}>
                {t(DIGEST_KEYS[d])}
              </option>
            ))}
          </select>
          <ErrorNotice error={action.error ?? digest.error} />
        </div>
        {communities.loading && !communities.data ? <Loading /> : null}
        <ul className="plain-list">
          {(communities.data ?? []).map((view) => (
            <CommunityLevel key={view.community.community_id} view={view} />
          ))}
        </ul>
      </section>
    </>
  );
}
