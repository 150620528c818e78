import { type ReactNode, useId } from "react";
import { isLocale, LOCALES, useI18n } from "../i18n";

export function LanguagePicker({ compact }: { compact?: boolean }): ReactNode {
  const { t, locale, setLocale } = useI18n();
  const id = useId();
  return (
    <div className={compact ? "language compact" : "language"}>
      <label htmlFor={id}>{t("app.language")}</label>
      <select id={id} value={locale} onChange={(e) => isLocale(e.target.value) && setLocale(e.target.value)}>
        {Object.entries(LOCALES).map(([code, { label }]) => (
          <option key={code} value={code} lang={code}>
            {label}
          </option>
        ))}
      </select>
    </div>
  );
}
