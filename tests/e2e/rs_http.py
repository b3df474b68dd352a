"""A real server's HTTP service for the e2e rig: answers every GET with its own name.

Why a separate script: it runs inside a real-server namespace (``ip netns exec``), and the
test stops/restarts it to simulate the service dying, exactly like ``systemctl stop httpd``
in the seeds. Stdlib only, so it starts fast inside the UML guest.

    python rs_http.py NAME [PORT]
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def main(argv: list[str]) -> int:
    name = argv[0].encode()
    port = int(argv[1]) if len(argv) > 1 else 80

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(name)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(name)

        def log_message(self, format: str, *args: object) -> None:
            pass  # thousands of requests: keep the log empty

    class Server(HTTPServer):
        allow_reuse_address = True
        request_queue_size = 128

    srv = Server(("0.0.0.0", port), Handler)
    print(f"{argv[0]} listening on :{port}", flush=True)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
