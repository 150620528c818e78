import { type ReactNode, useEffect, useId, useState } from "react";
import { useLive } from "../app/live";
import { Link } from "../app/router";
import type { Notification } from "../api/model";
import { useApi } from "../api/port";
import { ErrorNotice, LoadMore, Loading, Time } from "../components/common";
import { useI18n } from "../i18n";
import { useAction, usePaged } from "../lib/hooks";

function NotificationItem({ n, onRead }: { n: Notification; onRead: (id: string) => void }): ReactNode {
  const { t } = useI18n();
  const unread = !n.read_at;
  const target = n.post_id ? `/p/${encodeURIComponent(n.post_id)}` : n.space_id ? `/s/${encodeURIComponent(n.space_id)}` : null;
  return (
    <li className={unread ? "notification unread" : "notification"} data-notification-id={n.notification_id}>
      <div>
        {target ? <Link to={target} onClick={() => unread && onRead(n.notification_id)}>{n.title}</Link> : <strong>{n.title}</strong>}
        {n.excerpt ? <p className="muted excerpt">{n.excerpt}</p> : null}
        <p className="muted small">
          {n.actor_display_name ? `${n.actor_display_name} · ` : null}
          <Time iso={n.created_at} />
        </p>
      </div>
      {unread ? (
        <button type="button" className="button-secondary small" onClick={() => onRead(n.notification_id)}>
          {t("notifications.markRead")}
          <span className="visually-hidden">: {n.title}</span>
        </button>
      ) : null}
    </li>
  );
}

export function NotificationsPage(): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const live = useLive();
  const toggleId = useId();
  const [unreadOnly, setUnreadOnly] = useState(false);
  const inbox = usePaged((token) => api.inbox(unreadOnly, token), [api, unreadOnly]);
  const action = useAction();

  // Items that arrived live go on top without a reload.
  useEffect(() => {
    const newest = live.arrived[0];
    if (newest && !inbox.items.some((n) => n.notification_id === newest.notification_id)) inbox.prepend(newest);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only on arrival
  }, [live.arrived]);

  const markRead = (id: string) => {
    inbox.update((items) => items.map((n) => (n.notification_id === id ? { ...n, read_at: new Date().toISOString() } : n)));
    live.setUnread(Math.max(0, live.unread - 1));
    void action.run(() => api.markRead([id])).then(() => live.refreshUnread());
  };

  return (
    <>
      <div className="page-head">
        <h1>{t("notifications.title")}</h1>
        <p className="muted small" role="status">
          {live.status === "open" ? t("notifications.live") : live.status === "retrying" ? t("notifications.reconnecting") : null}
        </p>
      </div>
      <div className="toolbar">
        <label htmlFor={toggleId} className="checkbox">
          <input id={toggleId} type="checkbox" checked={unreadOnly} onChange={(e) => setUnreadOnly(e.target.checked)} />
          {t("notifications.unreadOnly")}
        </label>
        <button
          type="button"
          className="button-secondary"
          disabled={action.busy || live.unread === 0}
          onClick={() =>
            void action.run(async () => {
              await api.markAllRead();
              const now = new Date().toISOString();
              inbox.update((items) => items.map((n) => (n.read_at ? n : { ...n, read_at: now })));
              live.setUnread(0);
            })
          }
        >
          {t("notifications.markAllRead")}
        </button>
      </div>
      <ErrorNotice error={action.error} />
      {inbox.loading && inbox.items.length === 0 ? <Loading /> : null}
      {!inbox.loading && inbox.items.length === 0 && !inbox.error ? <p className="muted">{t("notifications.empty")}</p> : null}
      <ul className="notification-list" data-testid="notification-list">
        {inbox.items.map((n) => (
          <NotificationItem key={n.notification_id} n={n} onRead={markRead} />
        ))}
      </ul>
      <ErrorNotice error={inbox.error} onRetry={inbox.reload} />
      <LoadMore hasMore={inbox.hasMore} loading={inbox.loading} onMore={inbox.loadMore} />
    </>
  );
}
