"""Device drivers. Each opens a pyserial URL (or a camera/file source or input device node) and
emits ``cart.common.events``, on the one device base in ``drivers.base``."""
