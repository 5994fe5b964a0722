"""The far side of the sites end-to-end test, run inside its own network namespace: a DNS
server (dnspython) answering A records from `zone.json`, and an HTTP server serving
`docroot/<host>/<path>` for every name, both on one address. The test changes a site by
editing those files: a name taken out of the zone no longer resolves (NXDOMAIN), a page
replaced serves the new content.

    python tests/site_ns_server.py ADDRESS FOLDER
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


def serve_dns(address: str, zone_file: Path) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 53))
    while True:
        data, peer = sock.recvfrom(4096)
        try:
            query = dns.message.from_wire(data)
        except Exception:  # noqa: BLE001 - a test server: ignore what is not a query
            continue
        answer = dns.message.make_response(query)
        zone = json.loads(zone_file.read_text())
        for question in query.question:
            name = question.name.to_text().rstrip(".").lower()
            if name not in zone:
                answer.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.A:
                answer.answer.append(dns.rrset.from_text(name + ".", 60, "IN", "A", zone[name]))
        sock.sendto(answer.to_wire(), peer)


def serve_http(address: str, docroot: Path) -> None:
    class Sites(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            name = "index.html" if self.path in ("/", "") else self.path.lstrip("/")
            page = docroot / host / name
            found = page.is_file() and page.resolve().is_relative_to(docroot.resolve())
            body = page.read_bytes() if found else b"not found"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer((address, 80), Sites).serve_forever()


if __name__ == "__main__":
    address, folder = sys.argv[1], Path(sys.argv[2])
    threading.Thread(target=serve_dns, args=(address, folder / "zone.json"), daemon=True).start()
    threading.Thread(target=serve_http, args=(address, folder / "docroot"), daemon=True).start()
    (folder / "ready").write_text("ready")
    threading.Event().wait(600)  # bounded: the test kills it long before
