"""The cart's link to its store (docs/LINK.md): MQTT 5 over TLS with the cart's own certificate.

- :mod:`cart.app.link.client`: :class:`~cart.app.link.client.CartLink`, the outbox sender
  (QoS 1, resent with backoff until the store acknowledges), presence with a last will, health
  and versions;
- :mod:`cart.app.link.catalog`: signed catalogue bundles, verified, kept, applied between trips;
- :mod:`cart.app.link.commands`: signed commands (lock, call staff, spot-check rate), journaled;
- :mod:`cart.app.link.config`: the profile's ``[link]`` section.

The cart works without any of it: no ``[link]`` in the profile, no link.
"""
