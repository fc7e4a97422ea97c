# Entry point on the RP2040 (MicroPython >= 1.20). Copy proto.py, hx711.py, bridge.py and
# main.py to the board (e.g. `mpremote cp *.py :`). Pins follow hardware/WIRING.md.
# USB CDC carries the protocol in binary: nothing else may print to stdout.

import select
import sys
import time

import bridge
import hx711
import machine
import micropython

# (DOUT, PD_SCK) GPIO numbers per channel: front-left, front-right, rear-left, rear-right
PINS = ((2, 3), (4, 5), (6, 7), (8, 9))


def main(max_loops=None):
    """Run the bridge; ``max_loops`` bounds the loop (host tests), None runs forever."""
    # the link is binary: a 0x03 byte in a command must not raise KeyboardInterrupt
    micropython.kbd_intr(-1)
    guard = (machine.disable_irq, machine.enable_irq)
    adcs = [
        hx711.HX711(
            machine.Pin(d, machine.Pin.IN, machine.Pin.PULL_UP),
            machine.Pin(s, machine.Pin.OUT),
            128,
            guard,
        )
        for d, s in PINS
    ]
    b = bridge.Bridge(adcs, time.ticks_ms, machine.reset_cause(), time.ticks_diff)
    wdt = machine.WDT(timeout=2000)
    poller = select.poll()
    poller.register(sys.stdin.buffer, select.POLLIN)
    out = sys.stdout.buffer
    n = 0
    while max_loops is None or n < max_loops:
        n += 1
        wdt.feed()
        while poller.poll(0):
            b.receive(sys.stdin.buffer.read(1))
        b.poll()
        data = b.take_tx(64)
        if data:
            out.write(data)


if __name__ == "__main__":
    main()
