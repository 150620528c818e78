import type { ReactNode } from "react";
import { Link } from "../app/router";
import { useI18n } from "../i18n";

export function NotFound(): ReactNode {
  const { t } = useI18n();
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
