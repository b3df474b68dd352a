"""pykeepalived: a keepalived-compatible HA agent (VRRP, health checks, IPVS)."""

__version__ = "0.1.0"
