/**
 * Message formatting without a library: `{name}` placeholders and plural
 * forms chosen by Intl.PluralRules. Catalog values are either a string or an
 * object of plural categories (`other` is required).
 */

export type PluralMessage = { readonly other: string } & Partial<
  Record<"zero" | "one" | "two" | "few" | "many", string>
>;
export type Message = string | PluralMessage;
export type Params = Readonly<Record<string, string | number>>;

const PLACEHOLDER = /\{(\w+)\}/g;

/** Replaces `{name}` with params[name]; numbers are formatted for `locale`; unknown names stay visible. */
export function interpolate(template: string, params: Params | undefined, locale: string): string {
  if (!params) return template;
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === "number" ? formatNumber(value, locale) : value;
  });
}

/** The plural form of `message` for params.count (0 when absent). */
export function selectForm(message: Message, params: Params | undefined, locale: string): string {
  if (typeof message === "string") return message;
  const count = typeof params?.count === "number" ? params.count : 0;
  if (count === 0 && message.zero !== undefined) return message.zero;
  const category = new Intl.PluralRules(locale).select(count);
  return message[category] ?? message.other;
}

export function formatMessage(message: Message, params: Params | undefined, locale: string): string {
  return interpolate(selectForm(message, params, locale), params, locale);
}

export function formatNumber(value: number, locale: string): string {
  return new Intl.NumberFormat(locale).format(value);
}

/** A date and time as people of `locale` write it, e.g. "3 Dec 2026, 14:05". */
export function formatDateTime(iso: string | Date, locale: string): string {
  const date = typeof iso === "string" ? new Date(iso) : iso;
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

export function formatDate(iso: string | Date, locale: string): string {
  const date = typeof iso === "string" ? new Date(iso) : iso;
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium" }).format(date);
}

const UNITS: ReadonlyArray<[Intl.RelativeTimeFormatUnit, number]> = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

/** "5 minutes ago" / "vor 5 Minuten"; `now` is injectable for tests. */
export function formatRelative(iso: string | Date, locale: string, now: Date = new Date()): string {
  const date = typeof iso === "string" ? new Date(iso) : iso;
  if (Number.isNaN(date.getTime())) return "";
  const seconds = Math.round((date.getTime() - now.getTime()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "second") {
      return rtf.format(Math.round(seconds / size), unit);
    }
  }
  return rtf.format(0, "second");
}
