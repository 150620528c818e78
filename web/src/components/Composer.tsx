/**
 * The compose box of a space: type, title, Markdown body with preview and
 * @mentions, tags. In a space partners can read it says so above the form,
 * before anything is typed. The text is a draft until the server accepts it.
 */
import { type FormEvent, type ReactNode, useId, useMemo } from "react";
import type { Post, PostType, Space } from "../api/model";
import { useApi } from "../api/port";
import { useI18n } from "../i18n";
import { useAction } from "../lib/hooks";
import { parseTags } from "../lib/mentions";
import { ErrorNotice, isShared, SharedBadge } from "./common";
import { MarkdownEditor } from "./MarkdownEditor";
import { TYPE_KEYS } from "./PostCard";
import { useDraft } from "./useDraft";

interface ComposeDraft {
  readonly type: PostType;
  readonly title: string;
  readonly body: string;
  readonly tags: string;
}

const TYPES: readonly PostType[] = ["discussion", "question", "idea", "announcement", "wiki_page"];

export function SharedWarning({ space }: { space: Space }): ReactNode {
  const { t } = useI18n();
  return (
    <div className="notice notice-shared" role="note">
      <SharedBadge orgs={space.shared_with} />{" "}
      {space.shared_with.length > 0 ? t("shared.composeWarning", { orgs: space.shared_with.join(", ") }) : t("shared.composeWarningNoOrgs")}
    </div>
  );
}

export function Composer({
  space,
  onPosted,
  types = TYPES,
  initialTitle,
  initialType,
}: {
  space: Space;
  onPosted: (post: Post) => void;
  types?: readonly PostType[];
  initialTitle?: string;
  initialType?: PostType;
}): ReactNode {
  const { t, relative } = useI18n();
  const api = useApi();
  const id = useId();
  const empty = useMemo<ComposeDraft>(
    () => ({ type: initialType ?? types[0] ?? "discussion", title: initialTitle ?? "", body: "", tags: "" }),
    [initialTitle, initialType, types],
  );
  const draft = useDraft<ComposeDraft>(`compose:${space.space_id}`, empty);
  const action = useAction();
  const shared = isShared(space);
  const value = draft.value;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const post = await action.run(() =>
      api.createPost(space.space_id, { type: value.type, title: value.title.trim(), body: value.body, tags: parseTags(value.tags) }),
    );
    if (post) {
      draft.done();
      onPosted(post);
    }
  };

  return (
    <form className={`composer${shared ? " shared" : ""}`} onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t("post.new")}</h2>
      {shared ? <SharedWarning space={space} /> : null}
      {draft.restored ? (
        <p className="notice" role="status">
          {t("post.draftRestored")}{" "}
          <button type="button" className="link-button" onClick={draft.discard}>
            {t("post.discardDraft")}
          </button>
        </p>
      ) : null}
      <div className="field-row">
        <div className="field">
          <label htmlFor={`${id}-type`}>{t("post.type")}</label>
          <select id={`${id}-type`} value={value.type} onChange={(e) => draft.setValue({ ...value, type: e.target.value as PostType })}>
            {types.map((type) => (
              <option key={type} value={type}>
                {t(TYPE_KEYS[type])}
              </option>
            ))}
          </select>
        </div>
        <div className="field grow">
          <label htmlFor={`${id}-t`}>{t("post.title")}</label>
          <input id={`${id}-t`} name="title" value={value.title} maxLength={200} required onChange={(e) => draft.setValue({ ...value, title: e.target.value })} />
        </div>
      </div>
      <MarkdownEditor
        label={t("post.body")}
        name="body"
        value={value.body}
        spaceId={space.space_id}
        describedBy={`${id}-hint`}
        onChange={(body) => draft.setValue({ ...value, body })}
      />
      <p id={`${id}-hint`} className="hint muted">
        {t("post.bodyHint")}
      </p>
      <div className="field">
        <label htmlFor={`${id}-tags`}>{t("post.tags")}</label>
        <input id={`${id}-tags`} name="tags" value={value.tags} aria-describedby={`${id}-tags-hint`} onChange={(e) => draft.setValue({ ...value, tags: e.target.value })} />
        <span id={`${id}-tags-hint`} className="hint muted">
          {t("post.tagsHint")}
        </span>
      </div>
      <ErrorNotice error={action.error} />
      <div className="form-actions">
        <button type="submit" className="button-primary" disabled={action.busy}>
          {action.busy ? t("post.submitting") : t("post.submit")}
        </button>
        {draft.savedAt ? (
          <span className="muted" role="status">
            {t("post.draftSaved", { time: relative(new Date(draft.savedAt).toISOString()) })}
          </span>
        ) : null}
      </div>
    </form>
  );
}
