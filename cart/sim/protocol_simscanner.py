"""pyserial URL handler for ``simscanner://NAME`` (found through
``serial.protocol_handler_packages``; see ``cart.sim.scanner``)."""

from cart.sim.scanner import SimScannerSerial as Serial

__all__ = ["Serial"]
