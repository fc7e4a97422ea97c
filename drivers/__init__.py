"""Device drivers. Each opens a pyserial URL (or a camera/file source) and emits ``cart.common.events``."""
