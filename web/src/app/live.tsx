/**
 * Live notifications: one stream per signed-in tab (SSE through the API
 * layer), the unread count it keeps current, and the newest items for the
 * notifications page. A change to the count is announced politely.
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import type { Notification } from "../api/model";
import { useApi } from "../api/port";
import { ApiError } from "../api/problem";
import { startLive } from "../live/sse";

export interface Live {
  readonly unread: number;
  readonly status: "connecting" | "open" | "retrying" | "stopped";
  /** Notifications that arrived live since the page was opened, newest first. */
  readonly arrived: readonly Notification[];
  readonly refreshUnread: () => void;
  readonly setUnread: (n: number) => void;
}

/** How often the unread count is re-read when there is no live stream. */
const POLL_MS = 4000;

const LiveContext = createContext<Live>({
  unread: 0,
  status: "stopped",
  arrived: [],
  refreshUnread: () => undefined,
  setUnread: () => undefined,
});

export function useLive(): Live {
  return useContext(LiveContext);
}

/** The notification in an SSE `data` field, or null when it is not one. */
export function parseNotification(data: string): Notification | null {
  try {
    const value: unknown = JSON.parse(data);
    if (!value || typeof value !== "object") return null;
    const record = value as Record<string, unknown>;
    const inner = (record.notification ?? record) as Record<string, unknown>;
    return typeof inner.notification_id === "string" ? (inner as unknown as Notification) : null;
  } catch {
    return null;
  }
}

export function LiveProvider({ token, children }: { token: string; children: ReactNode }): ReactNode {
  const api = useApi();
  const [unread, setUnread] = useState(0);
  const [status, setStatus] = useState<Live["status"]>("connecting");
  const [arrived, setArrived] = useState<readonly Notification[]>([]);

  const refreshUnread = useCallback(() => {
    api.unreadCount().then(setUnread, () => undefined);
  }, [api]);

  useEffect(() => {
    refreshUnread();
    let disposed = false;
    let poll: ReturnType<typeof setInterval> | undefined;
    const stop = startLive({
      open: (lastEventId, signal) => api.openNotificationStream(lastEventId, signal),
      onStatus: (next) => {
        setStatus(next);
        // After a reconnect the stream resumes from the last id; the count is re-read once.
        if (next === "open") refreshUnread();
        // A gateway without the live stream: the count is polled instead.
        if (next === "stopped" && !disposed) poll = setInterval(refreshUnread, POLL_MS);
      },
      onEvent: (event) => {
        const notification = parseNotification(event.data);
        if (!notification) return;
        setArrived((old) => (old.some((n) => n.notification_id === notification.notification_id) ? old : [notification, ...old].slice(0, 50)));
        if (!notification.read_at) setUnread((n) => n + 1);
      },
      isFatal: (error) =>
        error instanceof ApiError && (error.kind === "unauthenticated" || error.kind === "forbidden" || error.kind === "not-implemented"),
    });
    return () => {
      disposed = true;
      stop();
      if (poll !== undefined) clearInterval(poll);
    };
  }, [api, refreshUnread, token]);

  const value = useMemo(() => ({ unread, status, arrived, refreshUnread, setUnread }), [unread, status, arrived, refreshUnread]);
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}
