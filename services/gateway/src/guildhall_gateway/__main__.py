"""``python -m guildhall_gateway``: run the gateway service until SIGTERM."""

from guildhall_gateway.app import build
from guildhall_gateway.settings import GatewaySettings
from guildhall_kit.service import main


def run() -> None:
    main(GatewaySettings, build)


if __name__ == "__main__":
    run()
