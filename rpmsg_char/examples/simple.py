"""rpmsg_char_simple: TI's echo test, but every reply is checked byte for byte.

Output lines match TI's example so scripts that scrape it keep working; the exit status is 0
only if every message came back unchanged and the endpoint closed cleanly.
"""

import sys

from ..errors import RpmsgCharError
from ._cli import check_common, parser, reply_timeout, run_session


def main(argv: list[str] | None = None) -> int:
    p = parser("rpmsg_char_simple", "Exchange 'hello there N!' messages with an echo endpoint.")
    args = p.parse_args(argv)
    check_common(p, args)
    return run_session(args, _exchange)


def _exchange(dev, args) -> bool:
    print(f"Exchanging {args.num_msgs} messages with rpmsg device {dev.name} on rproc id {args.rproc_id} ...\n")
    for i in range(args.num_msgs):
        message = f"hello there {i}!".encode()
        print(f"Sending message #{i}: {message.decode()}")
        try:
            dev.send(message)
            reply = dev.recv(timeout=reply_timeout(args))
        except RpmsgCharError as exc:
            print(f"message #{i} failed: {exc}", file=sys.stderr)
            return False
        print(reply.decode("utf-8", "replace"))
        if reply != message:
            print(f"message #{i}: the reply {reply!r} differs from what was sent, {message!r}", file=sys.stderr)
            return False
    print(f"\nCommunicated {args.num_msgs} messages successfully on {dev.name}\n")
    return True


if __name__ == "__main__":
    sys.exit(main())
