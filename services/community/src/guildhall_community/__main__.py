"""``python -m guildhall_community``: run the community service until SIGTERM."""

from guildhall_community.app import build
from guildhall_community.settings import CommunitySettings
from guildhall_kit.service import main


def run() -> None:
    main(CommunitySettings, build)


if __name__ == "__main__":
    run()
