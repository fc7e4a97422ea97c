"""Smart-cart software: the basket core, pricing, journal, screen and simulation."""

__version__ = "0.1.0"
