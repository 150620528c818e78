/**
 * Sign-in. With the gateway's local development issuer (`make run`): a list
 * of demo people to be. With an enterprise provider: one button to its
 * sign-in page (authorization code + PKCE). Shown as a page when signed out
 * and as a dialog over the current page when the session expired, so nothing
 * typed is lost.
 */
import { type ReactNode, useEffect, useId, useRef } from "react";
import type { DemoPerson } from "../api/model";
import { type AuthConfig, useApi } from "../api/port";
import { startOidcSignIn } from "../auth/oidc";
import { sessionFromToken, sessionStore } from "../auth/session";
import { ErrorNotice, Loading } from "../components/common";
import { type MessageKey, useI18n } from "../i18n";
import { useAction, useResource } from "../lib/hooks";
import { LanguagePicker } from "../components/LanguagePicker";

const ROLE_KEYS: Record<DemoPerson["roles"][number], MessageKey> = {
  employee: "signin.role.employee",
  owner: "signin.role.owner",
  admin: "signin.role.admin",
  partner: "signin.role.partner",
};

function DevPeople({ onDone }: { onDone?: () => void }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const people = useResource(() => api.demoPeople(), [api]);
  const action = useAction();
  if (people.loading && !people.data) return <Loading />;
  if (people.error) return <ErrorNotice error={people.error} onRetry={people.reload} />;
  return (
    <section aria-labelledby="dev-title">
      <h2 id="dev-title">{t("signin.devTitle")}</h2>
      <p className="muted">{t("signin.devHint")}</p>
      <ul className="demo-people">
        {(people.data ?? []).map((person) => (
          <li key={person.subject}>
            <button
              type="button"
              className="demo-person"
              disabled={action.busy}
              data-subject={person.subject}
              onClick={() =>
                void action.run(async () => {
                  const token = await api.devToken(person.subject);
                  sessionStore.signIn(sessionFromToken(token, "dev"));
                  onDone?.();
                })
              }
            >
              <span className="demo-name">{t("signin.as", { name: person.display_name })}</span>
              <span className="muted">{person.roles.map((role) => t(ROLE_KEYS[role])).join(" · ")}</span>
            </button>
          </li>
        ))}
      </ul>
      <ErrorNotice error={action.error} />
    </section>
  );
}

function Enterprise({ config }: { config: AuthConfig }): ReactNode {
  const { t } = useI18n();
  const action = useAction();
  return (
    <section>
      <button
        type="button"
        className="button-primary"
        disabled={action.busy}
        onClick={() =>
          void action.run(() =>
            startOidcSignIn(
              { issuer: config.issuer ?? "", clientId: config.clientId ?? "", scope: config.scope ?? "openid" },
              window.location.hash || "#/",
            ),
          )
        }
      >
        {action.busy ? t("signin.working") : t("signin.enterprise")}
      </button>
      {action.error ? (
        <p className="notice notice-error" role="alert">
          {t("signin.failed")}
        </p>
      ) : null}
    </section>
  );
}

export function SignInForm({ onDone }: { onDone?: () => void }): ReactNode {
  const api = useApi();
  const config = useResource(() => api.authConfig(), [api]);
  if (config.loading && !config.data) return <Loading />;
  if (config.error || !config.data) return <ErrorNotice error={config.error} onRetry={config.reload} />;
  return config.data.mode === "dev" ? <DevPeople onDone={onDone} /> : <Enterprise config={config.data} />;
}

export function SignInPage({ failed }: { failed?: boolean }): ReactNode {
  const { t } = useI18n();
  return (
    <main id="main" className="signin" tabIndex={-1}>
      <div className="signin-card">
        <h1>{t("signin.title")}</h1>
        <p>{t("signin.intro")}</p>
        {failed ? (
          <p className="notice notice-error" role="alert">
            {t("signin.failed")}
          </p>
        ) : null}
        <SignInForm />
        <LanguagePicker />
      </div>
    </main>
  );
}

/** A modal dialog over the page: the page (and its drafts) stay mounted underneath. */
export function SessionExpiredDialog(): ReactNode {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) {
      if (typeof dialog.showModal === "function") dialog.showModal();
      else dialog.setAttribute("open", "");
    }
  }, []);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={titleId} onCancel={(e) => e.preventDefault()}>
      <h2 id={titleId}>{t("signin.title")}</h2>
      <p className="notice notice-warning">{t("signin.expired")}</p>
      <SignInForm />
    </dialog>
  );
}
