"""Thin Telegram handlers: the gate, the router, the commands everyone has."""
