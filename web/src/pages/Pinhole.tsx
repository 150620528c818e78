/**
 * Managing one pinhole (community owners): its partner organisations and
 * their access, expiry, who from outside took part, close, revoke, and the
 * audit trail of every partner request.
 */
import { type FormEvent, type ReactNode, useId, useState } from "react";
import { Link } from "../app/router";
import type { GrantLevel, Pinhole, PinholeState } from "../api/model";
import { useApi } from "../api/port";
import { ErrorNotice, PageError, LoadMore, Loading, Markdown, PersonName, SharedBadge } from "../components/common";
import { type MessageKey, useI18n } from "../i18n";
import { useAction, usePaged, useResource } from "../lib/hooks";

export const PINHOLE_STATE_KEYS: Record<PinholeState, MessageKey> = {
  proposed: "pinhole.state.proposed",
  open: "pinhole.state.open",
  closed: "pinhole.state.closed",
};

const LEVEL_KEYS: Record<GrantLevel, MessageKey> = {
  viewer: "pinhole.level.viewer",
  contributor: "pinhole.level.contributor",
};

function GrantForm({ pinhole, onChange }: { pinhole: Pinhole; onChange: (p: Pinhole) => void }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const id = useId();
  const orgs = useResource(() => api.partnerOrgs(), [api]);
  const [org, setOrg] = useState("");
  const [level, setLevel] = useState<GrantLevel>("contributor");
  const action = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const chosen = org || orgs.data?.[0]?.org_id;
    if (!chosen) return;
    const next = await action.run(() => api.grantPinhole(pinhole.pinhole_id, chosen, level));
    if (next) onChange(next);
  };
  return (
    <form className="toolbar" onSubmit={(e) => void submit(e)} aria-label={t("pinhole.grant")}>
      <div className="field">
        <label htmlFor={`${id}-o`}>{t("pinhole.org")}</label>
        <select id={`${id}-o`} value={org} onChange={(e) => setOrg(e.target.value)}>
          {(orgs.data ?? []).map((o) => (
            <option key={o.org_id} value={o.org_id}>
              {o.display_name}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-l`}>{t("pinhole.level")}</label>
        <select id={`${id}-l`} value={level} onChange={(e) => setLevel(e.target.value as GrantLevel)}>
          {(Object.keys(LEVEL_KEYS) as GrantLevel[]).map((l) => (
            <option key={l} value={l}>
              {t(LEVEL_KEYS[l])}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" className="button-primary" disabled={action.busy || !orgs.data?.length}>
        {t("pinhole.grant")}
      </button>
      <ErrorNotice error={action.error ?? orgs.error} />
    </form>
  );
}

function Audit({ pinholeId }: { pinholeId: string }): ReactNode {
  const { t, dateTime } = useI18n();
  const api = useApi();
  const audit = usePaged((token) => api.pinholeAudit(pinholeId, token), [api, pinholeId]);
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">{t("pinhole.audit")}</h2>
      {audit.loading && audit.items.length === 0 ? <Loading /> : null}
      {!audit.loading && audit.items.length === 0 && !audit.error ? <p className="muted">{t("pinhole.auditEmpty")}</p> : null}
      {audit.items.length > 0 ? (
        <div className="table-scroll" tabIndex={0} role="region" aria-labelledby="audit-title">
          <table className="audit" data-testid="audit">
            <thead>
              <tr>
                <th scope="col">{t("pinhole.audit.time")}</th>
                <th scope="col">{t("pinhole.audit.who")}</th>
                <th scope="col">{t("pinhole.audit.action")}</th>
                <th scope="col">{t("pinhole.audit.outcome")}</th>
              </tr>
            </thead>
            <tbody>
              {audit.items.map((r) => (
                <tr key={r.record_id}>
                  <td>{r.at ? dateTime(r.at) : ""}</td>
                  <td>
                    {r.person_id} <span className="muted">({r.org_id})</span>
                  </td>
                  <td>
                    <code>{r.route}</code>
                  </td>
                  <td>{r.outcome}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ErrorNotice error={audit.error} onRetry={audit.reload} />
      <LoadMore hasMore={audit.hasMore} loading={audit.loading} onMore={audit.loadMore} />
    </section>
  );
}

export function PinholePage({ pinholeId }: { pinholeId: string }): ReactNode {
  const { t, date } = useI18n();
  const api = useApi();
  const pinhole = useResource(() => api.pinhole(pinholeId), [api, pinholeId]);
  const participants = useResource(() => api.pinholeParticipants(pinholeId), [api, pinholeId]);
  const action = useAction();
  if (pinhole.loading && !pinhole.data) return <Loading />;
  if (!pinhole.data) return <PageError error={pinhole.error} onRetry={pinhole.reload} />;
  const p = pinhole.data;
  const open = p.state === "open";
  return (
    <>
      <div className="page-head">
        <h1>{p.title}</h1>
        {open && p.grants.length > 0 ? <SharedBadge orgs={p.grants.map((g) => g.org_display_name || g.org_id)} /> : null}
      </div>
      <p className="muted">
        {p.state ? t(PINHOLE_STATE_KEYS[p.state]) : null} · {p.expires_at ? t("pinhole.expires", { date: date(p.expires_at) }) : t("pinhole.noExpiry")}
      </p>
      <Markdown source={p.purpose} />
      <p>
        <Link to={`/s/${encodeURIComponent(p.pinhole_id)}`}>{t("pinhole.goToSpace")}</Link> ·{" "}
        <Link to={`/c/${encodeURIComponent(p.community_id)}`} query={{ tab: "pinholes" }}>
          {t("app.back")}
        </Link>
      </p>
      <ErrorNotice error={action.error} />
      <section aria-labelledby="grants-title">
        <h2 id="grants-title">{t("pinhole.grants")}</h2>
        {p.grants.length === 0 ? <p className="muted">{t("pinhole.noGrants")}</p> : null}
        <ul className="member-list" data-testid="grants">
          {p.grants.map((g) => (
            <li key={g.org_id}>
              <strong>{g.org_display_name || g.org_id}</strong> · {g.level ? t(LEVEL_KEYS[g.level]) : null}
              {open ? (
                <button
                  type="button"
                  className="button-danger small"
                  disabled={action.busy}
                  onClick={() => {
                    if (!window.confirm(t("pinhole.revokeConfirm", { org: g.org_display_name || g.org_id }))) return;
                    void action.run(() => api.revokeGrant(p.pinhole_id, g.org_id)).then((next) => next && pinhole.set(next));
                  }}
                >
                  {t("pinhole.revoke")}
                  <span className="visually-hidden">: {g.org_display_name || g.org_id}</span>
                </button>
              ) : null}
            </li>
          ))}
        </ul>
        {open ? <GrantForm pinhole={p} onChange={pinhole.set} /> : null}
      </section>
      <section aria-labelledby="participants-title">
        <h2 id="participants-title">{t("pinhole.participants")}</h2>
        <ErrorNotice error={participants.error} />
        {participants.data?.length === 0 ? <p className="muted">{t("pinhole.noParticipants")}</p> : null}
        <ul className="member-list" data-testid="participants">
          {(participants.data ?? []).map((c) => (
            <li key={c.person_id}>
              <PersonName card={c} id={c.person_id} /> <span className="muted small">{c.org_display_name}</span>
            </li>
          ))}
        </ul>
      </section>
      <Audit pinholeId={p.pinhole_id} />
      {p.state !== "closed" ? (
        <p>
          <button
            type="button"
            className="button-danger"
            disabled={action.busy}
            onClick={() => {
              if (!window.confirm(t("pinhole.closeConfirm"))) return;
              void action.run(() => api.closePinhole(p.pinhole_id)).then((next) => next && pinhole.set(next));
            }}
          >
            {t("pinhole.close")}
          </button>
        </p>
      ) : null}
    </>
  );
}
