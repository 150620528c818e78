import type { ReactNode } from "react";
import { useMe } from "../app/me";
import { Link } from "../app/router";
import { useApi } from "../api/port";
import type { RoutedQuestion } from "../api/model";
import { ErrorNotice, isShared, LoadMore, Loading, SharedBadge, SpaceSuffix, TagList, Time } from "../components/common";
import { PostList } from "../components/PostCard";
import { useI18n } from "../i18n";
import { usePaged, useResource } from "../lib/hooks";

/** One question the notification service routed to the person, and why. */
function RoutedQuestionCard({ question }: { question: RoutedQuestion }): ReactNode {
  const { t } = useI18n();
  const { space } = question;
  const why = question.reason === "community_staff" ? t("home.routedAsStaff") : t("home.routedForExpertise");
  return (
    <article className={`post-card${isShared(space) ? " shared" : ""}`} data-question-id={question.question_id}>
      <div className="post-card-meta">
        <span className="type-label">{t("post.type.question")}</span>
        {isShared(space) ? <SharedBadge orgs={space?.shared_with} /> : null}
        {question.step > 0 ? <span className="badge badge-warning">{t("home.routedEscalated", { step: question.step })}</span> : null}
      </div>
      <h3 className="post-card-title">
        <Link to={`/p/${encodeURIComponent(question.question_id)}`}>{question.title}</Link>
      </h3>
      <p className="post-card-byline muted">
        {why} · <Time iso={question.routed_at} />
        <SpaceSuffix space={space} />
      </p>
      <TagList tags={question.tags} />
    </article>
  );
}

function QuestionsForMe(): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const questions = usePaged((token) => api.routedQuestions(token), [api]);
  return (
    <section aria-labelledby="qfm-title" className="panel" data-testid="questions-for-me">
      <h2 id="qfm-title">{t("home.questionsForMe")}</h2>
      <p className="muted">{t("home.questionsForMeHint")}</p>
      {questions.loading && questions.items.length === 0 ? <Loading /> : null}
      {!questions.loading && questions.items.length === 0 ? <p className="muted">{t("home.questionsEmpty")}</p> : null}
      <ul className="post-list">
        {questions.items.map((question) => (
          <li key={question.question_id}>
            <RoutedQuestionCard question={question} />
          </li>
        ))}
      </ul>
      <ErrorNotice error={questions.error} onRetry={questions.reload} />
      <LoadMore hasMore={questions.hasMore} loading={questions.loading} onMore={questions.loadMore} />
    </section>
  );
}

function HomeFeed(): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const feed = usePaged((token) => api.homeFeed(token), [api]);
  return (
    <section aria-labelledby="feed-title" data-testid="home-feed">
      <h2 id="feed-title">{t("home.feed")}</h2>
      {feed.loading && feed.items.length === 0 ? <Loading /> : <PostList items={feed.items} emptyText={t("home.feedEmpty")} />}
      <ErrorNotice error={feed.error} onRetry={feed.reload} />
      <LoadMore hasMore={feed.hasMore} loading={feed.loading} onMore={feed.loadMore} />
    </section>
  );
}

/** A partner's home: the pinholes granted to their org, and nothing else. */
function PartnerHome(): ReactNode {
  const { t, date } = useI18n();
  const api = useApi();
  const pinholes = useResource(() => api.myPinholes(), [api]);
  return (
    <>
      <h1>{t("home.partnerTitle")}</h1>
      {pinholes.loading && !pinholes.data ? <Loading /> : null}
      <ErrorNotice error={pinholes.error} onRetry={pinholes.reload} />
      {pinholes.data && pinholes.data.length === 0 ? <p className="muted">{t("home.partnerEmpty")}</p> : null}
      <ul className="card-list" data-testid="partner-pinholes">
        {(pinholes.data ?? []).map((pinhole) => (
          <li key={pinhole.pinhole_id} className="card">
            <h2>
              <Link to={`/s/${encodeURIComponent(pinhole.pinhole_id)}`}>{pinhole.title}</Link>
            </h2>
            <SharedBadge />
            <p>{pinhole.purpose}</p>
            {pinhole.expires_at ? <p className="muted">{t("pinhole.expires", { date: date(pinhole.expires_at) })}</p> : null}
          </li>
        ))}
      </ul>
    </>
  );
}

export function HomePage(): ReactNode {
  const { t } = useI18n();
  const me = useMe();
  if (me.kind === "partner") return <PartnerHome />;
  return (
    <>
      <h1>{t("home.title")}</h1>
      <div className="columns">
        <div className="column-main">
          <HomeFeed />
        </div>
        <aside className="column-side">
          <QuestionsForMe />
        </aside>
      </div>
    </>
  );
}
