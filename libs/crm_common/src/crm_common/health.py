"""`python -m crm_common.health <service>`: exit 0 when the service answers an RPC ping within 2 s."""
import sys

from crm_common.errors import ServiceError
from crm_common.rpcclient import call_once


def main(argv):
    if len(argv) != 1:
        print("usage: python -m crm_common.health <service>", file=sys.stderr)
        return 2
    try:
        print(call_once(argv[0], "health", timeout=2))
        return 0
    except ServiceError as exc:
        print(f"{argv[0]}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
