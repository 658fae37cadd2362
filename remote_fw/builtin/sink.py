"""Consumes everything sent to it and counts it — a target for Linux-side send benchmarks.

config: "service" (default "rpmsg_chrdev"), "addr" (default 14),
        "report_every" (default 1000: trace a running total every N messages).
"""

from remote_fw.firmware_api import FirmwareContext


async def main(ctx: FirmwareContext) -> None:
    service = ctx.config.get("service", "rpmsg_chrdev")
    report_every = int(ctx.config.get("report_every", 1000))
    totals = {"messages": 0, "bytes": 0}

    def count(ep, src: int, data: bytes) -> None:
        totals["messages"] += 1
        totals["bytes"] += len(data)
        if totals["messages"] % report_every == 0:
            ctx.log(f"sink: {totals['messages']} messages, {totals['bytes']} bytes")

    ep = ctx.create_endpoint(int(ctx.config.get("addr", 14)), count)
    await ep.announce(service)
    ctx.log(f"sink: consuming at {ep.addr} ({service})")
