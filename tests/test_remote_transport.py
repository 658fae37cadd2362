"""The transport as a debugger on the board would see it: vrings in shared memory, the rpmsg
header, the mailbox FIFO. No firmware here: the test plays the remote side with DeviceTransport."""

import errno
import os
import struct

import trio
import trio.testing

from remote_fw import Mailbox, NsFlags, NsMessage, SharedMemory
from remote_fw.device_transport import DeviceTransport
from remote_fw.host_transport import HostTransport
from remote_fw.mailbox import InterruptLine
from remote_fw.rpmsg_header import RPMSG_HDR


def make_link(num_bufs=256, buf_size=512):
    shm = SharedMemory(num_bufs, buf_size)
    to_remote, to_host = Mailbox("rx"), Mailbox("tx")
    host = HostTransport(shm, to_remote, to_host)
    device = DeviceTransport(shm, to_remote, to_host)
    return shm, host, device, to_remote, to_host


def test_rpmsg_header_and_ns_message_are_the_kernel_layouts():
    assert RPMSG_HDR.pack(0x400, 14, 0, 5, 0) == bytes.fromhex("00040000 0e000000 00000000 0500 0000")
    raw = NsMessage("rpmsg_chrdev", 14, NsFlags.CREATE).pack()
    assert len(raw) == 40
    assert raw[:12] == b"rpmsg_chrdev" and raw[12:32] == bytes(20)
    assert struct.unpack("<II", raw[32:]) == (14, 0)
    assert NsMessage.unpack(raw) == NsMessage("rpmsg_chrdev", 14, NsFlags.CREATE)
    destroy = NsMessage("x", 1024, NsFlags.DESTROY).pack()
    assert struct.unpack("<II", destroy[32:]) == (1024, 1)


async def test_linux_posts_all_rx_buffers_at_setup_and_dump_shows_real_descriptors():
    shm, host, _device, to_remote, _ = make_link()
    assert (host.num_bufs, host.buf_size, host.mtu) == (256, 512, 496)
    rx_dump = host.dump(0)
    assert "vring0 (remote→Linux): num=256" in rx_dump
    assert "[  0] addr=0xa0006000 len= 512 flags=0x2(WRITE)" in rx_dump
    assert "[255] addr=0xa0025e00 len= 512 flags=0x2(WRITE)" in rx_dump
    assert "avail: flags=0x0 idx=256" in rx_dump
    assert "used: flags=0x0 idx=0" in rx_dump
    # Linux kicked vring 0 to say "buffers are there", as virtio_rpmsg_bus does at probe.
    assert to_remote.take()[0] == 0

    assert host.send(1024, 14, b"hello")
    tx_dump = host.dump(1)
    # The first TX buffer is the first of the second half of the pool; len = header + payload.
    assert "[  0] addr=0xa0026000 len=  21 flags=0x0 next=0" in tx_dump
    assert "avail: flags=0x0 idx=1" in tx_dump
    off = shm.buffer_addr(256) - shm.base
    assert RPMSG_HDR.unpack_from(shm.mem, off) == (1024, 14, 0, 5, 0)
    assert bytes(shm.mem[off + 16 : off + 21]) == b"hello"


async def test_ring_wraps_around_past_256_messages_without_loss():
    _shm, host, device, _to_remote, _ = make_link()
    received = []
    sent = 0
    for _round in range(3):
        while host.send(1024, 14, b"msg %d" % sent):
            sent += 1
        received += device.take_received()  # the remote returns every buffer
    # 256 never-used buffers, then the ones the remote gave back through the used ring, twice.
    assert sent == 3 * 256
    while sent < 1000:
        assert host.send(1024, 14, b"msg %d" % sent)
        sent += 1
        received += device.take_received()
    assert [p for _s, _d, p in received] == [b"msg %d" % i for i in range(1000)]
    assert all((s, d) == (1024, 14) for s, d, _p in received)
    dump = host.dump(1)
    assert "avail: flags=0x0 idx=1000" in dump
    assert "used: flags=0x0 idx=1000" in dump


async def test_payload_over_mtu_is_refused_and_full_ring_reports_no_buffer():
    _shm, host, _device, _to_remote, _ = make_link(num_bufs=4, buf_size=64)
    assert host.mtu == 48
    try:
        host.send(1024, 14, bytes(49))
    except ValueError as exc:
        assert "MTU of 48" in str(exc)
    else:
        raise AssertionError("a 49-byte payload went through a 48-byte MTU")
    assert all(host.send(1024, 14, bytes(48)) for _ in range(4))
    assert not host.send(1024, 14, b"x")  # no TX buffer: the Linux side must wait


def rings(line: InterruptLine) -> int:
    """How often `line` (an eventfd) was rung since the last look."""
    try:
        return os.eventfd_read(line.fd)
    except BlockingIOError:
        return 0


def test_mailbox_fifo_holds_four_kicks_and_rings_each_side_when_it_should():
    mbox = Mailbox("r5f0 rx")
    irq, space = InterruptLine(), InterruptLine()
    mbox.attach(irq)
    mbox.on_space(space)
    for vring in (0, 1, 0, 1):
        assert mbox.try_send(vring, 1.0 + vring)
    assert rings(irq) == 1  # only empty → non-empty raises the interrupt
    assert not mbox.try_send(1, 2.0)  # four entries: the FIFO is full
    assert mbox.take() == (0, 1.0) and rings(space) == 1  # the refused sender hears of it
    assert mbox.take() == (1, 2.0) and rings(space) == 0  # once
    assert [mbox.take()[0] for _ in range(2)] == [0, 1]
    assert mbox.take() is None
    assert mbox.try_send(7, 3.0) and rings(irq) == 1
    mbox.attach(None)
    mbox.on_space(None)
    irq.close()
    space.close()


def test_a_severed_mailbox_reaches_nobody():
    mbox = Mailbox("r5f0 tx")
    irq, late = InterruptLine(), InterruptLine()
    mbox.attach(irq)
    mbox.try_send(0, 1.0)
    mbox.sever()
    for n in range(10):  # a stopped core's thread still kicking: accepted, dropped
        assert mbox.try_send(n, 1.0)
    assert mbox.take() is None and rings(irq) == 1
    mbox.attach(late)
    assert rings(late) == 0 and rings(irq) == 0
    irq.close()
    late.close()


async def test_host_kicks_never_block_the_caller_and_are_delivered_in_order():
    _shm, host, device, to_remote, _ = make_link()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(host.run)
        for n in range(8):
            assert host.send(1024, 14, b"%d" % n)  # returns at once, mailbox full or not
            device.take_received()
            device.take_received()  # ring empty: the remote asks for the next kick
        await trio.testing.wait_all_tasks_blocked()
        assert len(to_remote) == 4  # the rest wait in Linux's deferred-kick task
        kicks = []
        with trio.fail_after(5):
            while len(kicks) < 9:  # the remote takes one: a slot frees, the next is posted
                entry = to_remote.take()
                if entry is None:
                    await trio.sleep(0.001)
                else:
                    kicks.append(entry[0])
        nursery.cancel_scope.cancel()
    # the setup kick for vring 0, then one kick of vring 1 per message: none dropped
    assert kicks == [0] + [1] * 8


async def test_a_poller_or_blocked_writer_is_told_when_tx_buffers_come_back():
    _shm, host, device, _to_remote, _ = make_link(num_bufs=4, buf_size=64)
    completions = []
    host.on_tx_complete = lambda: completions.append("tx done")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(host.run)
        nursery.start_soon(device.run_isr)
        for n in range(4):
            assert host.can_send() and host.send(1024, 14, b"%d" % n)
        device.take_received()
        await trio.testing.wait_all_tasks_blocked()
        assert completions == []  # nobody was waiting: no TX-done interrupt
        for n in range(4):
            assert host.send(1024, 14, b"%d" % n)  # the returned buffers are reused
        assert not host.can_send()  # full: arms the interrupt, as virtio_rpmsg_poll does
        assert len(device.take_received()) == 4
        await trio.testing.wait_all_tasks_blocked()
        assert completions == ["tx done"]
        assert host.can_send()
        nursery.cancel_scope.cancel()


async def test_linux_takes_its_kicks_itself_when_the_controller_has_no_line_left():
    """fusedev's FUSE loop handles Linux's interrupt lines in C (interrupt_lines.c) up to a
    limit; a link past it is served by its own task, and no message is lost."""
    _shm, host, device, _to_remote, _ = make_link()
    got = []
    host.on_receive = lambda src, dst, data: got.append((src, dst, data))

    class FullController:
        def add(self, fd, handler, arg, owner):
            raise OSError(errno.ENOSPC, "no interrupt line left")

        def remove(self, fd):
            raise AssertionError("a line that was never added is removed")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(host.run, FullController())
        await trio.testing.wait_all_tasks_blocked()
        assert device.try_send(14, 1024, b"hello")
        with trio.fail_after(5):
            while not got:
                await trio.sleep(0.001)
        nursery.cancel_scope.cancel()
    assert got == [(14, 1024, b"hello")]
