/**
 * One item: its text, and what people do with it by type (answers and accept
 * for questions, votes and status for ideas, history for wiki pages),
 * comments and reactions for all. Editing keeps the text as a draft; a stale
 * edit (412) says so and keeps the text.
 */
import { type FormEvent, type ReactNode, useEffect, useId, useState } from "react";
import { useMe } from "../app/me";
import { Link, navigate } from "../app/router";
import type { Answer, IdeaStatus, PostView, ReactionKind, SubscriptionLevel } from "../api/model";
import { useApi } from "../api/port";
import { ApiError } from "../api/problem";
import { SharedWarning } from "../components/Composer";
import { ErrorNotice, PageError, isShared, LoadMore, Loading, Markdown, PersonName, SharedBadge, TagList, Time } from "../components/common";
import { MarkdownEditor } from "../components/MarkdownEditor";
import { TYPE_KEYS } from "../components/PostCard";
import { useDraft } from "../components/useDraft";
import { type MessageKey, useI18n } from "../i18n";
import { useAction, usePaged, useResource } from "../lib/hooks";
import { parseTags } from "../lib/mentions";
import { LEVEL_KEYS } from "./Settings";

const IDEA_KEYS: Record<IdeaStatus, MessageKey> = {
  new: "idea.status.new",
  under_review: "idea.status.under_review",
  accepted: "idea.status.accepted",
  implemented: "idea.status.implemented",
  declined: "idea.status.declined",
};

const REACTION_KEYS: Record<ReactionKind, MessageKey> = {
  like: "reaction.like",
  celebrate: "reaction.celebrate",
  thanks: "reaction.thanks",
  insightful: "reaction.insightful",
  curious: "reaction.curious",
};
const REACTION_ICONS: Record<ReactionKind, string> = { like: "👍", celebrate: "🎉", thanks: "🙏", insightful: "💡", curious: "🤔" };

function isStale(error: unknown): boolean {
  return error instanceof ApiError && error.kind === "stale";
}

/** A compact form with a draft that survives reloads: answers and comments. */
function ReplyForm({ draftKey, label, submitLabel, spaceId, onSubmit }: {
  draftKey: string;
  label: string;
  submitLabel: string;
  spaceId: string;
  onSubmit: (body: string) => Promise<unknown>;
}): ReactNode {
  const { t } = useI18n();
  const draft = useDraft<string>(draftKey, "");
  const action = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!draft.value.trim()) return;
    const ok = await action.run(() => onSubmit(draft.value));
    if (ok !== undefined) draft.done();
  };
  return (
    <form onSubmit={(e) => void submit(e)} className="reply-form">
      {draft.restored ? (
        <p className="notice" role="status">
          {t("post.draftRestored")}
        </p>
      ) : null}
      <MarkdownEditor label={label} value={draft.value} onChange={draft.setValue} spaceId={spaceId} rows={4} required />
      <ErrorNotice error={action.error} />
      <button type="submit" className="button-primary" disabled={action.busy}>
        {submitLabel}
      </button>
    </form>
  );
}

function Reactions({ view, onChange }: { view: PostView; onChange: (next: PostView) => void }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const action = useAction();
  const mine = new Set(view.viewer?.reactions ?? []);
  const counts = new Map(view.post.reactions.map((r) => [r.kind, r.count]));
  const toggle = (kind: ReactionKind) => {
    const on = !mine.has(kind);
    const nextMine = on ? [...mine, kind] : [...mine].filter((k) => k !== kind);
    const count = (counts.get(kind) ?? 0) + (on ? 1 : -1);
    const reactions = [...view.post.reactions.filter((r) => r.kind !== kind), { kind, count: Math.max(0, count) }];
    const before = view;
    // Optimistic: the count changes at once, and goes back if the server refuses.
    onChange({ ...view, post: { ...view.post, reactions }, viewer: view.viewer ? { ...view.viewer, reactions: nextMine } : null });
    void action.run(() => api.react(view.post.post_id, kind, on)).then((ok) => ok === undefined && onChange(before));
  };
  return (
    <div className="reactions" role="group" aria-label={t("reaction.like")}>
      {(Object.keys(REACTION_KEYS) as ReactionKind[]).map((kind) => (
        <button key={kind} type="button" className="reaction" aria-pressed={mine.has(kind)} onClick={() => toggle(kind)}>
          <span aria-hidden="true">{REACTION_ICONS[kind]}</span> {t("reaction.count", { label: t(REACTION_KEYS[kind]), count: counts.get(kind) ?? 0 })}
        </button>
      ))}
      <ErrorNotice error={action.error} />
    </div>
  );
}

function Comments({ view }: { view: PostView }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const comments = usePaged((token) => api.comments(view.post.post_id, token), [api, view.post.post_id]);
  return (
    <section aria-labelledby="comments-title" className="comments">
      <h2 id="comments-title">{t("comment.title", { count: Math.max(view.post.comment_count, comments.items.length) })}</h2>
      {comments.loading && comments.items.length === 0 ? <Loading /> : null}
      {!comments.loading && comments.items.length === 0 ? <p className="muted">{t("comment.empty")}</p> : null}
      <ul className="comment-list">
        {comments.items.map((c) => (
          <li key={c.comment_id} className={c.author?.kind === "partner_user" ? "comment external" : "comment"}>
            <p className="muted small">
              <PersonName card={c.author} id={c.author_id} /> · <Time iso={c.created_at} />
            </p>
            <Markdown source={c.body} />
          </li>
        ))}
      </ul>
      <ErrorNotice error={comments.error} onRetry={comments.reload} />
      <LoadMore hasMore={comments.hasMore} loading={comments.loading} onMore={comments.loadMore} />
      <ReplyForm
        draftKey={`comment:${view.post.post_id}`}
        label={t("comment.add")}
        submitLabel={t("comment.submit")}
        spaceId={view.post.space_id}
        onSubmit={async (body) => {
          const comment = await api.addComment(view.post.post_id, body);
          comments.update((items) => [...items, comment]);
          return comment;
        }}
      />
    </section>
  );
}

function AnswerItem({ answer, canAccept, onChange, questionId }: {
  answer: Answer;
  canAccept: boolean;
  onChange: (next: Answer) => void;
  questionId: string;
}): ReactNode {
  const { t, number } = useI18n();
  const api = useApi();
  const action = useAction();
  const vote = (dir: "up" | "down") => {
    const next = answer.my_vote === dir ? "none" : dir;
    void action.run(() => api.voteAnswer(answer.answer_id, next)).then((a) => a && onChange({ ...a, author: a.author ?? answer.author }));
  };
  return (
    <li className={`answer${answer.accepted ? " accepted" : ""}${answer.author?.kind === "partner_user" ? " external" : ""}`} data-answer-id={answer.answer_id}>
      <div className="answer-votes" role="group" aria-label={t("question.score", { count: answer.score })}>
        <button type="button" aria-pressed={answer.my_vote === "up"} onClick={() => vote("up")} aria-label={t("question.voteUp")}>
          ▲
        </button>
        <span aria-hidden="true">{number(answer.score)}</span>
        <button type="button" aria-pressed={answer.my_vote === "down"} onClick={() => vote("down")} aria-label={t("question.voteDown")}>
          ▼
        </button>
      </div>
      <div className="answer-body">
        {answer.accepted ? <p className="badge badge-success">{t("question.accepted")}</p> : null}
        <Markdown source={answer.body} />
        <p className="muted small">
          <PersonName card={answer.author} id={answer.author_id} /> · <Time iso={answer.created_at} />
        </p>
        {canAccept && !answer.accepted ? (
          <button
            type="button"
            className="button-secondary small"
            disabled={action.busy}
            onClick={() => void action.run(() => api.acceptAnswer(questionId, answer.answer_id)).then(() => onChange({ ...answer, accepted: true }))}
          >
            {t("question.accept")}
          </button>
        ) : null}
        <ErrorNotice error={action.error} />
      </div>
    </li>
  );
}

function Answers({ view, onAccepted }: { view: PostView; onAccepted: (answerId: string) => void }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const me = useMe();
  const answers = usePaged((token) => api.answers(view.post.post_id, token), [api, view.post.post_id]);
  const canAccept = view.post.author_id === me.person_id;
  return (
    <section aria-labelledby="answers-title" className="answers">
      <h2 id="answers-title">{t("question.answers", { count: Math.max(view.post.answer_count, answers.items.length) })}</h2>
      <ul className="answer-list" data-testid="answers">
        {answers.items.map((a) => (
          <AnswerItem
            key={a.answer_id}
            answer={a}
            questionId={view.post.post_id}
            canAccept={canAccept}
            onChange={(next) => {
              answers.update((items) =>
                items.map((x) => (x.answer_id === next.answer_id ? next : next.accepted && !a.accepted ? { ...x, accepted: false } : x)),
              );
              if (next.accepted && !a.accepted) onAccepted(next.answer_id);
            }}
          />
        ))}
      </ul>
      {answers.loading && answers.items.length === 0 ? <Loading /> : null}
      <ErrorNotice error={answers.error} onRetry={answers.reload} />
      <LoadMore hasMore={answers.hasMore} loading={answers.loading} onMore={answers.loadMore} />
      <h3>{t("question.yourAnswer")}</h3>
      <ReplyForm
        draftKey={`answer:${view.post.post_id}`}
        label={t("question.yourAnswer")}
        submitLabel={t("question.postAnswer")}
        spaceId={view.post.space_id}
        onSubmit={async (body) => {
          const answer = await api.postAnswer(view.post.post_id, body);
          answers.update((items) => [...items, answer]);
          return answer;
        }}
      />
    </section>
  );
}

function IdeaPanel({ view, onChange }: { view: PostView; onChange: (next: PostView) => void }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const id = useId();
  const action = useAction();
  const voted = view.viewer?.voted ?? false;
  return (
    <div className="panel idea-panel">
      <p>
        <strong>{t("idea.status")}:</strong> {view.post.idea_status ? t(IDEA_KEYS[view.post.idea_status]) : null} ·{" "}
        {t("idea.votes", { count: view.post.vote_count })}
      </p>
      <button
        type="button"
        className={voted ? "button-secondary" : "button-primary"}
        aria-pressed={voted}
        disabled={action.busy}
        onClick={() =>
          void action.run(async () => {
            const post = await api.voteIdea(view.post.post_id, !voted);
            onChange({ ...view, post, viewer: view.viewer ? { ...view.viewer, voted: !voted } : null });
          })
        }
      >
        {voted ? t("idea.unvote") : t("idea.vote")}
      </button>
      {view.viewer?.can_moderate ? (
        <span className="field inline">
          <label htmlFor={id}>{t("idea.changeStatus")}</label>
          <select
            id={id}
            value={view.post.idea_status ?? "new"}
            onChange={(e) =>
              void action.run(async () => {
                const post = await api.setIdeaStatus(view.post.post_id, e.target.value as IdeaStatus);
                onChange({ ...view, post });
              })
            }
          >
            {(Object.keys(IDEA_KEYS) as IdeaStatus[]).map((s) => (
              <option key={s} value={s}>
                {t(IDEA_KEYS[s])}
              </option>
            ))}
          </select>
        </span>
      ) : null}
      <ErrorNotice error={action.error} />
    </div>
  );
}

interface EditDraft {
  readonly title: string;
  readonly body: string;
  readonly tags: string;
  readonly summary: string;
  /** The ETag the edit started from: a stale one is what the server refuses with 412. */
  readonly etag: string;
}

function EditForm({ view, onSaved, onCancel, onReload }: {
  view: PostView;
  onSaved: (next: PostView) => void;
  onCancel: () => void;
  onReload: () => void;
}): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const id = useId();
  const start: EditDraft = { title: view.post.title, body: view.post.body, tags: view.post.tags.join(", "), summary: "", etag: view.etag };
  const draft = useDraft<EditDraft>(`edit:${view.post.post_id}`, start);
  const action = useAction();
  const value = draft.value;
  const [rebasing, setRebasing] = useState(false);
  const [showTheirs, setShowTheirs] = useState(false);
  // Once their version has loaded, the text typed here is based on it.
  useEffect(() => {
    if (rebasing && view.etag !== value.etag) {
      draft.setValue({ ...value, etag: view.etag });
      setRebasing(false);
    }
  }, [rebasing, view.etag, value, draft]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const next = await action.run(() =>
      api.editPost(view.post.post_id, value.etag, { type: view.post.type ?? "discussion", title: value.title, body: value.body, tags: parseTags(value.tags) }, value.summary),
    );
    if (next) {
      draft.done();
      onSaved(next);
    }
  };
  const stale = isStale(action.error);
  return (
    <form className="panel edit-form" onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>{view.post.type === "wiki_page" ? t("wiki.edit") : t("app.edit")}</h2>
      {isShared(view.space) && view.space ? <SharedWarning space={view.space} /> : null}
      {stale ? (
        <div className="notice notice-error" role="alert" data-testid="stale-edit">
          <p>{t("post.staleEdit")}</p>
          <button
            type="button"
            className="button-secondary"
            onClick={() => {
              // Load their version; the text typed here stays (see the effect above).
              setRebasing(true);
              setShowTheirs(true);
              action.clear();
              onReload();
            }}
          >
            {t("post.reloadLatest")}
          </button>
        </div>
      ) : (
        <ErrorNotice error={action.error} />
      )}
      {showTheirs ? (
        <details open className="panel">
          <summary>{t("post.theirVersion")}</summary>
          <h3>{view.post.title}</h3>
          <Markdown source={view.post.body} />
        </details>
      ) : null}
      <div className="field">
        <label htmlFor={`${id}-t`}>{t("post.title")}</label>
        <input id={`${id}-t`} value={value.title} required maxLength={200} onChange={(e) => draft.setValue({ ...value, title: e.target.value })} />
      </div>
      <MarkdownEditor label={t("post.body")} value={value.body} spaceId={view.post.space_id} rows={10} onChange={(body) => draft.setValue({ ...value, body })} />
      <div className="field">
        <label htmlFor={`${id}-g`}>{t("post.tags")}</label>
        <input id={`${id}-g`} value={value.tags} onChange={(e) => draft.setValue({ ...value, tags: e.target.value })} />
      </div>
      {view.post.type === "wiki_page" ? (
        <div className="field">
          <label htmlFor={`${id}-s`}>{t("wiki.summary")}</label>
          <input id={`${id}-s`} value={value.summary} maxLength={200} onChange={(e) => draft.setValue({ ...value, summary: e.target.value })} />
        </div>
      ) : null}
      <div className="form-actions">
        <button type="submit" className="button-primary" disabled={action.busy}>
          {t("app.save")}
        </button>
        <button
          type="button"
          className="button-secondary"
          onClick={() => {
            draft.discard();
            onCancel();
          }}
        >
          {t("app.cancel")}
        </button>
      </div>
    </form>
  );
}

function ItemSubscription({ postId }: { postId: string }): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const id = useId();
  const level = useResource(() => api.subscription({ postId }), [api, postId]);
  const action = useAction();
  if (!level.data) return null;
  return (
    <div className="field inline">
      <label htmlFor={id}>{t("settings.itemLevel")}</label>
      <select
        id={id}
        value={level.data}
        disabled={action.busy}
        onChange={(e) => {
          const next = e.target.value as SubscriptionLevel;
          void action.run(async () => {
            await api.setSubscription({ postId }, next);
            level.set(next);
          });
        }}
      >
        {(Object.keys(LEVEL_KEYS) as SubscriptionLevel[]).map((l) => (
          <option key={l} value={l}>
            {t(LEVEL_KEYS[l])}
          </option>
        ))}
      </select>
      <ErrorNotice error={action.error} />
    </div>
  );
}

export function PostPage({ postId }: { postId: string }): ReactNode {
  const { t, relative } = useI18n();
  const api = useApi();
  const me = useMe();
  const view = useResource(() => api.post(postId), [api, postId]);
  const [editing, setEditing] = useState(false);
  if (view.loading && !view.data) return <Loading />;
  if (!view.data) return <PageError error={view.error} onRetry={view.reload} />;
  const data = view.data;
  const { post } = data;
  const shared = isShared(data.space);
  return (
    <article className={shared ? "post shared" : "post"} data-post-id={post.post_id}>
      <p className="post-card-meta">
        <span className="type-label">{post.type ? t(TYPE_KEYS[post.type]) : null}</span>
        {shared ? <SharedBadge orgs={data.space?.shared_with} /> : null}
        {data.space ? <Link to={`/s/${encodeURIComponent(data.space.space_id)}`}>{data.space.title}</Link> : null}
      </p>
      <h1>{post.title}</h1>
      <p className="muted">
        <PersonName card={data.author} id={post.author_id} /> · {t("post.posted", { time: relative(post.created_at ?? "") })}
        {post.updated_at && post.updated_at !== post.created_at ? ` · ${t("post.edited", { time: relative(post.updated_at) })}` : null}
      </p>
      <TagList tags={post.tags} />
      {post.state === "deleted" ? <p className="notice">{t("post.deleted")}</p> : null}
      {editing ? (
        <EditForm
          view={data}
          onSaved={(next) => {
            view.set(next);
            setEditing(false);
          }}
          onCancel={() => setEditing(false)}
          onReload={view.reload}
        />
      ) : (
        <div className="post-body">
          <Markdown source={post.body} />
        </div>
      )}
      <div className="post-actions">
        {data.viewer?.can_edit && !editing ? (
          <button type="button" className="button-secondary" onClick={() => setEditing(true)}>
            {post.type === "wiki_page" ? t("wiki.edit") : t("app.edit")}
          </button>
        ) : null}
        {post.type === "wiki_page" ? (
          <Link to={`/p/${encodeURIComponent(post.post_id)}/history`} className="button-secondary">
            {t("wiki.history")}
          </Link>
        ) : null}
        {me.kind === "employee" ? <ItemSubscription postId={post.post_id} /> : null}
      </div>
      <Reactions view={data} onChange={view.set} />
      {post.type === "idea" ? <IdeaPanel view={data} onChange={view.set} /> : null}
      {post.type === "question" ? <Answers view={data} onAccepted={(answerId) => view.set({ ...data, post: { ...post, accepted_answer_id: answerId } })} /> : null}
      <Comments view={data} />
      <p>
        <button type="button" className="link-button" onClick={() => (data.space ? navigate(`/s/${encodeURIComponent(data.space.space_id)}`) : navigate("/"))}>
          {t("app.back")}
        </button>
      </p>
    </article>
  );
}
