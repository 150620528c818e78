"""``python -m guildhall_profile``: run the profile service until SIGTERM."""

from guildhall_kit.service import main
from guildhall_profile.app import build
from guildhall_profile.settings import ProfileSettings


def run() -> None:
    main(ProfileSettings, build)


if __name__ == "__main__":
    run()
