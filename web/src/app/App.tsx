/**
 * The app: sign-in state → the signed-in shell (navigation, live
 * notifications, the current route) or the sign-in page. When the session
 * expires the shell stays mounted under the sign-in dialog, so an open
 * compose box keeps its text even before its draft is read back.
 */
import { type ReactNode, useEffect, useState, useSyncExternalStore } from "react";
import type { Me } from "../api/model";
import { useApi } from "../api/port";
import { completeOidcSignIn, isOidcCallback } from "../auth/oidc";
import { sessionFromToken, sessionStore } from "../auth/session";
import { ErrorNotice, Loading } from "../components/common";
import { I18nProvider } from "../i18n";
import { useResource } from "../lib/hooks";
import { SessionExpiredDialog, SignInPage } from "../pages/SignIn";
import { LiveProvider } from "./live";
import { MeContext } from "./me";
import { Shell } from "./Shell";

function useSession() {
  return useSyncExternalStore(sessionStore.subscribe, sessionStore.get);
}

function SignedIn({ token, expired }: { token: string; expired: boolean }): ReactNode {
  const api = useApi();
  const me = useResource<Me>(() => api.me(), [api, token]);
  if (!me.data) {
    if (me.error) {
      return (
        <main id="main" className="page">
          <ErrorNotice error={me.error} onRetry={me.reload} />
        </main>
      );
    }
    return <Loading />;
  }
  return (
    <MeContext.Provider value={me.data}>
      {/* A new token restarts the live stream; the shell under it stays mounted. */}
      <LiveProvider token={token}>
        <Shell />
      </LiveProvider>
      {expired ? <SessionExpiredDialog /> : null}
    </MeContext.Provider>
  );
}

export function App(): ReactNode {
  const state = useSession();
  const [callbackFailed, setCallbackFailed] = useState(false);
  const [completing, setCompleting] = useState(() => isOidcCallback());

  useEffect(() => {
    if (!completing) return;
    completeOidcSignIn().then(
      ({ accessToken }) => {
        sessionStore.signIn(sessionFromToken(accessToken, "oidc"));
        setCompleting(false);
      },
      () => {
        setCallbackFailed(true);
        setCompleting(false);
      },
    );
  }, [completing]);

  const person = state.status === "signed-out" ? "" : state.session.subject;
  let body: ReactNode;
  if (completing) body = <Loading />;
  else if (state.status === "signed-out") body = <SignInPage failed={callbackFailed} />;
  else body = <SignedIn token={state.session.token} expired={state.status === "expired"} />;
  return <I18nProvider person={person}>{body}</I18nProvider>;
}
