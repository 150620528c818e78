"""The post service's use cases, one module per aggregate.

No protobuf and no pymongo here: the adapters (:mod:`guildhall_post.adapters`) turn
requests into calls of these classes and their results into replies, and implement
the ports (:mod:`.ports`) these classes use.

- :mod:`.access`     the funnel every read and write passes (``access_*``)
- :mod:`.posts`      create, read, edit, delete, pin
- :mod:`.questions`  answers, votes, accepting, questions for me
- :mod:`.ideas`      idea votes and status
- :mod:`.wiki`       revision history of every item; wiki edits and restores
- :mod:`.comments`   comments and reactions
- :mod:`.feeds`      the space feed and the home feed
- :mod:`.search`     Search over the in-process index
"""

from __future__ import annotations

from dataclasses import dataclass

from guildhall_post.application.comments import CommentUseCases
from guildhall_post.application.common import Deps
from guildhall_post.application.feeds import FeedUseCases
from guildhall_post.application.ideas import IdeaUseCases
from guildhall_post.application.posts import PostUseCases
from guildhall_post.application.questions import QuestionUseCases
from guildhall_post.application.search import SearchUseCase
from guildhall_post.application.wiki import WikiUseCases
from guildhall_post.search import SearchIndex


@dataclass(frozen=True, slots=True)
class Application:
    """Every use case of the post service, wired to the same ports."""

    posts: PostUseCases
    questions: QuestionUseCases
    ideas: IdeaUseCases
    wiki: WikiUseCases
    comments: CommentUseCases
    feeds: FeedUseCases
    search: SearchUseCase

    @classmethod
    def build(cls, deps: Deps, index: SearchIndex) -> Application:
        return cls(
            posts=PostUseCases(deps),
            questions=QuestionUseCases(deps),
            ideas=IdeaUseCases(deps),
            wiki=WikiUseCases(deps),
            comments=CommentUseCases(deps),
            feeds=FeedUseCases(deps),
            search=SearchUseCase(deps, index),
        )
