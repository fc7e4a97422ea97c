"""The cart's screen: a Textual app that renders immutable snapshots of the basket.

``cart.app.view`` (the snapshot the screen shows) and ``cart.app.actions`` (what the shopper or
staff asks for) are plain data and import nothing heavy; ``cart.ui.app`` imports Textual.
"""
