"""``python -m guildhall_notification``: run the notification service until SIGTERM."""

from guildhall_kit.service import main
from guildhall_notification.app import build
from guildhall_notification.settings import NotificationSettings


def run() -> None:
    main(NotificationSettings, build)


if __name__ == "__main__":
    run()
