import type { ReactNode } from "react";
import type { PostType, PostView } from "../api/model";
import { Link } from "../app/router";
import { type MessageKey, useI18n } from "../i18n";
import { isShared, PersonName, SharedBadge, SpaceSuffix, TagList, Time } from "./common";

export const TYPE_KEYS: Record<PostType, MessageKey> = {
  discussion: "post.type.discussion",
  question: "post.type.question",
  idea: "post.type.idea",
  announcement: "post.type.announcement",
  wiki_page: "post.type.wiki",
};

/** One entry of a feed or result list. */
export function PostCard({ view }: { view: PostView }): ReactNode {
  const { t } = useI18n();
  const { post, author, space } = view;
  const shared = isShared(space);
  const external = author?.kind === "partner_user";
  return (
    <article className={`post-card${shared ? " shared" : ""}${external ? " external" : ""}`} data-post-id={post.post_id}>
      <div className="post-card-meta">
        <span className="type-label">{post.type ? t(TYPE_KEYS[post.type]) : null}</span>
        {post.pinned ? <span className="badge">{t("post.pinned")}</span> : null}
        {shared ? <SharedBadge orgs={space?.shared_with} /> : null}
        {post.type === "question" && !post.accepted_answer_id && post.answer_count === 0 ? (
          <span className="badge badge-warning">{t("question.unanswered")}</span>
        ) : null}
      </div>
      <h3 className="post-card-title">
        <Link to={`/p/${encodeURIComponent(post.post_id)}`}>{post.title || post.body.slice(0, 80)}</Link>
      </h3>
      <p className="post-card-byline muted">
        <PersonName card={author} id={post.author_id} /> · <Time iso={post.created_at} />
        <SpaceSuffix space={space} />
      </p>
      <TagList tags={post.tags} />
      <p className="post-card-counts muted">
        {post.type === "question" ? <span>{t("question.answers", { count: post.answer_count })}</span> : null}
        {post.type === "idea" ? <span>{t("idea.votes", { count: post.vote_count })}</span> : null}
        <span>{t("comment.count", { count: post.comment_count })}</span>
      </p>
    </article>
  );
}

export function PostList({ items, emptyText }: { items: readonly PostView[]; emptyText: string }): ReactNode {
  if (items.length === 0) return <p className="muted">{emptyText}</p>;
  return (
    <ul className="post-list">
      {items.map((view) => (
        <li key={view.post.post_id}>
          <PostCard view={view} />
        </li>
      ))}
    </ul>
  );
}
