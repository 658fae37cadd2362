"""TI's IPC echo firmware (ipc_rpmsg_echo_linux): two services, every message sent straight back
to its sender's address from the endpoint that received it.

config: none.
"""

from remote_fw.firmware_api import Endpoint, FirmwareContext

PING_PONG_ADDR = 13
CHRDEV_ADDR = 14


async def echo_back(ep: Endpoint, src: int, data: bytes) -> None:
    await ep.send(src, data)


async def main(ctx: FirmwareContext) -> None:
    ping_pong = ctx.create_endpoint(PING_PONG_ADDR, echo_back)
    chrdev = ctx.create_endpoint(CHRDEV_ADDR, echo_back)
    await ping_pong.announce("ti.ipc4.ping-pong")
    await chrdev.announce("rpmsg_chrdev")
    ctx.log(f"{ctx.core_name}: echo ready at {PING_PONG_ADDR} and {CHRDEV_ADDR}")
