/**
 * The i18n layer: every user-facing string goes through `t(key, params)`;
 * dates and numbers through the formatters here, in the person's locale. The
 * locale is chosen per person (stored under their id) and defaults to the
 * browser's preference.
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { readJson, writeJson } from "../lib/storage";
import type { Catalog, MessageKey } from "./catalog";
import { de } from "./de";
import { en } from "./en";
import { formatDate, formatDateTime, formatMessage, formatNumber, formatRelative, type Params } from "./format";

export type { MessageKey } from "./catalog";

export const LOCALES = { en: { label: "English", catalog: en as Catalog }, de: { label: "Deutsch", catalog: de } } as const;
export type Locale = keyof typeof LOCALES;

export function isLocale(value: unknown): value is Locale {
  return typeof value === "string" && Object.hasOwn(LOCALES, value);
}

/** The first of the browser's languages we have a catalog for, else English. */
export function browserLocale(languages: readonly string[] = typeof navigator === "undefined" ? [] : navigator.languages): Locale {
  for (const language of languages) {
    const base = language.toLowerCase().split("-")[0];
    if (isLocale(base)) return base;
  }
  return "en";
}

const prefKey = (person: string) => `guildhall.locale.${person || "anonymous"}`;

export function storedLocale(person: string): Locale | undefined {
  if (typeof localStorage === "undefined") return undefined;
  const value = readJson<string>(localStorage, prefKey(person));
  return isLocale(value) ? value : undefined;
}

export interface I18n {
  readonly locale: Locale;
  readonly t: (key: MessageKey, params?: Params) => string;
  readonly number: (value: number) => string;
  readonly date: (iso: string) => string;
  readonly dateTime: (iso: string) => string;
  readonly relative: (iso: string) => string;
  readonly setLocale: (locale: Locale) => void;
}

export function makeI18n(locale: Locale, setLocale: (locale: Locale) => void = () => undefined): I18n {
  const catalog = LOCALES[locale].catalog;
  return {
    locale,
    t: (key, params) => formatMessage(catalog[key] ?? en[key], params, locale),
    number: (value) => formatNumber(value, locale),
    date: (iso) => formatDate(iso, locale),
    dateTime: (iso) => formatDateTime(iso, locale),
    relative: (iso) => formatRelative(iso, locale),
    setLocale,
  };
}

const I18nContext = createContext<I18n>(makeI18n("en"));

export function I18nProvider({ person, children }: { person: string; children: ReactNode }): ReactNode {
  const [locale, setLocaleState] = useState<Locale>(() => storedLocale(person) ?? browserLocale());
  useEffect(() => {
    setLocaleState(storedLocale(person) ?? browserLocale());
  }, [person]);
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);
  const setLocale = useCallback(
    (next: Locale) => {
      writeJson(localStorage, prefKey(person), next);
      setLocaleState(next);
    },
    [person],
  );
  const value = useMemo(() => makeI18n(locale, setLocale), [locale, setLocale]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  return useContext(I18nContext);
}
