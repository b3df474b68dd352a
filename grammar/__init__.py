"""The keepalived.conf grammar, shipped as package data."""
