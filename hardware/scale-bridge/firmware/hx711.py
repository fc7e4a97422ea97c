# HX711 24-bit bridge ADC, bit-banged (datasheet: Avia Semiconductor HX711, rev. 2.0).
# DOUT goes low when a conversion is ready. Each of 24 PD_SCK pulses shifts out one bit,
# MSB first; 1 extra pulse selects channel A, gain 128 for the next conversion.
# PD_SCK high for more than 60 us powers the chip down, so interrupts are off while clocking.

GAIN_PULSES = {128: 1, 32: 2, 64: 3}


class HX711:
    def __init__(self, dout, sck, gain=128, irq_guard=None):
        if gain not in GAIN_PULSES:
            raise ValueError("gain must be 128, 64 or 32")
        self.dout = dout
        self.sck = sck
        self.pulses = GAIN_PULSES[gain]
        self.irq_guard = irq_guard  # (disable, enable) pair, e.g. machine.disable_irq
        self.sck.value(0)

    def ready(self):
        return self.dout.value() == 0

    def read(self):
        """Read one conversion; call only when ready(). Returns signed counts."""
        state = self.irq_guard[0]() if self.irq_guard else None
        try:
            v = 0
            sck, dout = self.sck, self.dout
            for _ in range(24):
                sck.value(1)
                sck.value(0)
                v = (v << 1) | dout.value()
            for _ in range(self.pulses):
                sck.value(1)
                sck.value(0)
        finally:
            if self.irq_guard:
                self.irq_guard[1](state)
        if v & 0x800000:
            v -= 0x1000000
        return v

    def power_down(self):
        self.sck.value(0)
        self.sck.value(1)
