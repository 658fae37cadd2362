"""Sample firmware to copy into a board's firmware directory and change (see docs/firmware.md).

It offers the service "sample.upper": each message comes back upper-cased, and a message
"stats" is answered with how many messages this endpoint has served. It shows the whole SDK:
endpoints with a callback and with recv(), announce/withdraw, send, sleep, log and config.

config: "service" (default "sample.upper"), "greeting" (default: none; sent to the first
        client after a short pause, to show ctx.sleep).
"""

from remote_fw.firmware_api import FirmwareContext


async def main(ctx: FirmwareContext) -> None:
    service = ctx.config.get("service", "sample.upper")
    greeting = ctx.config.get("greeting")
    served = 0

    # No callback: this endpoint is read with recv(), inside main.
    ep = ctx.create_endpoint()  # lowest free address ≥ 1024
    await ep.announce(service)
    ctx.log(f"sample: {service} at {ep.addr}")

    greeted = set()
    while True:
        src, data = await ep.recv()
        if greeting and src not in greeted:
            greeted.add(src)
            await ctx.sleep(0.01)
            await ep.send(src, greeting.encode())
        if data == b"stats":
            await ep.send(src, f"served {served}".encode())
        elif data == b"bye":
            # Withdrawing the name makes Linux remove the channel and its devices.
            await ep.withdraw(service)
            ep.close()
            ctx.log("sample: service withdrawn")
            return
        else:
            served += 1
            await ep.send(src, data.upper())
