"""``python -m guildhall_post``: run the post service until SIGTERM."""

from guildhall_kit.service import main
from guildhall_post.app import build
from guildhall_post.settings import PostSettings


def run() -> None:
    main(PostSettings, build)


if __name__ == "__main__":
    run()
