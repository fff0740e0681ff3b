"""Wallbox sources: one module (or package) per kind, all behind the `Source` protocol.

``base`` holds the protocol and the capabilities, ``registry`` the kinds by config-entry
``source``. Adding a kind means one module here (a class with the protocol's members and a
``create`` function registered in ``registry.FACTORIES``) and one config-flow step.
"""
