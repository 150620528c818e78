/**
 * @mentions in Markdown. A chosen person is written into the body as a link
 * to their profile, `[@Ada Lovelace](#/people/ada)`, so the text stays
 * readable Markdown, renders as a link, and the ids the post service needs
 * (it expects the client to resolve names) are read back from the body
 * itself: deleting the link removes the mention.
 */

export interface MentionQuery {
  /** Index of the `@`. */
  readonly start: number;
  /** What was typed after it. */
  readonly query: string;
}

const MENTION_LINK = /\[@[^\]\n]{1,100}\]\(#\/people\/([a-z0-9][a-z0-9_-]{0,63})\)/g;

/** The mention being typed at `caret`, if any: an `@` at a word start followed by up to 40 name characters. */
export function mentionAt(text: string, caret: number): MentionQuery | null {
  const before = text.slice(0, caret);
  const match = /(^|[\s(])@([\p{L}\p{N}._-]{0,40})$/u.exec(before);
  if (!match) return null;
  const query = match[2] ?? "";
  return { start: caret - query.length - 1, query };
}

/** Replaces the `@query` at `mention` with the person's link; returns the new text and caret. */
export function insertMention(
  text: string,
  mention: MentionQuery,
  person: { readonly person_id: string; readonly display_name: string },
): { text: string; caret: number } {
  const name = person.display_name.replace(/[[\]\n]/g, "");
  const link = `[@${name}](#/people/${person.person_id}) `;
  const end = mention.start + 1 + mention.query.length;
  return { text: text.slice(0, mention.start) + link + text.slice(end), caret: mention.start + link.length };
}

/** The distinct person ids mentioned in `body`, in order of first mention (at most 20, the service's limit). */
export function mentionedIds(body: string): string[] {
  const ids: string[] = [];
  for (const match of body.matchAll(MENTION_LINK)) {
    const id = match[1];
    if (id && !ids.includes(id)) ids.push(id);
    if (ids.length === 20) break;
  }
  return ids;
}

/** Tags from a comma- or space-separated field: lowercased, trimmed, unique, at most 10. */
export function parseTags(input: string): string[] {
  const tags: string[] = [];
  for (const raw of input.split(/[,\s]+/)) {
    const tag = raw.trim().replace(/^#/, "").toLowerCase();
    if (tag && !tags.includes(tag)) tags.push(tag);
    if (tags.length === 10) break;
  }
  return tags;
}
