/**
 * The signed-in frame: skip link, header with navigation and the live unread
 * badge, and the page for the current route. Partners get a smaller
 * navigation: their shared spaces, notifications and settings, nothing of the
 * internal directory.
 */
import { type ReactNode, useEffect, useState } from "react";
import { useApi } from "../api/port";
import { sessionStore } from "../auth/session";
import { useResource } from "../lib/hooks";
import { LanguagePicker } from "../components/LanguagePicker";
import { useI18n } from "../i18n";
import { CommunitiesPage } from "../pages/Communities";
import { CommunityPage } from "../pages/Community";
import { ExpertsPage } from "../pages/Experts";
import { HomePage } from "../pages/Home";
import { NotFound } from "../pages/NotFound";
import { NotificationsPage } from "../pages/Notifications";
import { PersonPage } from "../pages/Person";
import { PinholePage } from "../pages/Pinhole";
import { PostPage } from "../pages/Post";
import { AskPage, SearchPage } from "../pages/Search";
import { SettingsPage } from "../pages/Settings";
import { SpacePage } from "../pages/Space";
import { WikiHistoryPage } from "../pages/WikiHistory";
import { useLive } from "./live";
import { useMe } from "./me";
import { Link, resolve, type RouteDef, useLocation } from "./router";

const p = (params: Record<string, string>, name: string): string => params[name] ?? "";

const EMPLOYEE_ROUTES: readonly RouteDef[] = [
  { pattern: "/", render: () => <HomePage /> },
  { pattern: "/notifications", render: () => <NotificationsPage /> },
  { pattern: "/communities", render: (_, q) => <CommunitiesPage query={q} /> },
  { pattern: "/c/:id", render: (params, q) => <CommunityPage communityId={p(params, "id")} tab={q.get("tab") ?? "feed"} /> },
  { pattern: "/s/:id", render: (params) => <SpacePage spaceId={p(params, "id")} /> },
  { pattern: "/p/:id", render: (params) => <PostPage postId={p(params, "id")} /> },
  { pattern: "/p/:id/history", render: (params, q) => <WikiHistoryPage postId={p(params, "id")} query={q} /> },
  { pattern: "/search", render: (_, q) => <SearchPage query={q} /> },
  { pattern: "/ask", render: (_, q) => <AskPage query={q} /> },
  { pattern: "/people/:id", render: (params) => <PersonPage personId={p(params, "id")} /> },
  { pattern: "/experts", render: (_, q) => <ExpertsPage tag={q.get("tag") ?? ""} /> },
  { pattern: "/pinholes/:id", render: (params) => <PinholePage pinholeId={p(params, "id")} /> },
  { pattern: "/settings", render: () => <SettingsPage /> },
];

/** What a partner can open: their pinholes' spaces and posts, people cards, notifications, settings. */
const PARTNER_ROUTES: readonly RouteDef[] = EMPLOYEE_ROUTES.filter((route) =>
  ["/", "/notifications", "/s/:id", "/p/:id", "/p/:id/history", "/people/:id", "/settings"].includes(route.pattern),
);

function UnreadBadge(): ReactNode {
  const { t, number } = useI18n();
  const { unread } = useLive();
  return (
    <>
      {unread > 0 ? (
        <span className="badge badge-count" data-testid="unread-badge" aria-hidden="true">
          {number(unread)}
        </span>
      ) : null}
      <span className="visually-hidden" aria-live="polite" data-testid="unread-label">
        {t("nav.unread", { count: unread })}
      </span>
    </>
  );
}

function NavItem({ to, current, children }: { to: string; current: string; children: ReactNode }): ReactNode {
  const active = to === "/" ? current === "/" : current === to || current.startsWith(`${to}/`);
  return (
    <li>
      <Link to={to} aria-current={active ? "page" : undefined}>
        {children}
      </Link>
    </li>
  );
}

export function Shell(): ReactNode {
  const { t } = useI18n();
  const me = useMe();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const api = useApi();
  const myCard = useResource(async () => (await api.cards([me.person_id]))[0] ?? null, [api, me.person_id]);
  const partner = me.kind === "partner";
  const routes = partner ? PARTNER_ROUTES : EMPLOYEE_ROUTES;
  const match = resolve(routes, location);

  useEffect(() => {
    setMenuOpen(false);
    // Start each page at its top, with focus on the main region for keyboard and screen reader users.
    document.getElementById("main")?.focus({ preventScroll: true });
    window.scrollTo?.(0, 0);
  }, [location.path]);

  return (
    <div className={partner ? "app app-partner" : "app"}>
      <a className="skip-link" href="#main" onClick={(e) => {
        e.preventDefault();
        document.getElementById("main")?.focus();
      }}>
        {t("app.skipToContent")}
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          <span aria-hidden="true" className="brand-mark">⌂</span> {t("app.name")}
        </Link>
        <button type="button" className="menu-toggle" aria-expanded={menuOpen} aria-controls="main-nav" onClick={() => setMenuOpen((o) => !o)}>
          {t("app.menu")}
        </button>
        <nav id="main-nav" aria-label={t("app.mainNav")} className={menuOpen ? "open" : ""}>
          <ul>
            <NavItem to="/" current={location.path}>
              {partner ? t("nav.pinholes") : t("nav.home")}
            </NavItem>
            {partner ? null : (
              <>
                <NavItem to="/communities" current={location.path}>
                  {t("nav.communities")}
                </NavItem>
                <NavItem to="/search" current={location.path}>
                  {t("nav.search")}
                </NavItem>
                <NavItem to="/experts" current={location.path}>
                  {t("nav.experts")}
                </NavItem>
              </>
            )}
            <NavItem to="/notifications" current={location.path}>
              {t("nav.notifications")} <UnreadBadge />
            </NavItem>
            {partner ? null : (
              <NavItem to={`/people/${encodeURIComponent(me.person_id)}`} current={location.path}>
                {t("people.profile")}
              </NavItem>
            )}
            <NavItem to="/settings" current={location.path}>
              {t("nav.settings")}
            </NavItem>
          </ul>
          <div className="nav-end">
            <span className="muted signed-in-as">{t("nav.signedInAs", { name: myCard.data?.display_name || me.person_id })}</span>
            <LanguagePicker compact />
            <button type="button" className="link-button" onClick={() => sessionStore.signOut()}>
              {t("nav.signOut")}
            </button>
          </div>
        </nav>
      </header>
      <main id="main" tabIndex={-1} className="page">
        {match ? match.route.render(match.params, location.query) : <NotFound />}
      </main>
    </div>
  );
}
