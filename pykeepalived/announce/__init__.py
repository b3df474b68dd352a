"""Health-driven ECMP (a pykeepalived extension): announce a virtual_server's VIP while its
quorum is up, by the means routing daemons already redistribute (an address on `lo`, a kernel
route), and withdraw it otherwise. core.py decides, netlink.py applies, service.py runs it in
the checker child. No BGP here: FRR or BIRD carries the announcement."""
