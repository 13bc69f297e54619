"""Two mail servers on 127.0.0.1 for the tests of the e-mail queue, each in a thread:

- SilentSMTPServer accepts every connection and never says a word (not even SMTP's
  greeting): a client that talks to it waits until its own timeout;
- SMTPSink speaks enough SMTP (RFC 5321: greeting, EHLO/HELO, MAIL, RCPT, DATA, RSET,
  NOOP, QUIT) to take any message, and keeps each one (`messages`: envelope recipients
  and the raw text).

Use them as context managers; `port` is a free port picked by the system.
"""

import email
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from email.message import Message


class SilentSMTPServer:
    """Accepts connections and holds them open without a byte: `connections` counts them."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.connections = 0
        self._held: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self._socket.settimeout(0.05)  # so the thread sees `_closed` soon after it is set
        while not self._closed.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            self.connections += 1
            self._held.append(connection)

    def __enter__(self) -> "SilentSMTPServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self._socket.close()
        for connection in self._held:
            connection.close()
        self._thread.join(timeout=5)


@dataclass
class ReceivedMail:
    recipients: list[str]
    data: bytes
    message: Message = field(init=False)

    def __post_init__(self) -> None:
        self.message = email.message_from_bytes(self.data)


class _SMTPHandler(socketserver.StreamRequestHandler):
    server: "_SinkServer"

    def _reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self._reply("220 127.0.0.1 test sink ready")
        recipients: list[str] = []
        while line := self.rfile.readline():
            command = line.decode("ascii", "replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250 127.0.0.1")
            elif verb == "MAIL":
                recipients = []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(data[1:] if data.startswith(b"..") else data)
                self.server.messages.append(ReceivedMail(recipients, b"".join(lines)))
                self._reply("250 OK: queued")
            elif verb in ("RSET", "NOOP"):
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 Bye")
                return
            else:
                self._reply("502 Command not implemented")


class _SinkServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.messages: list[ReceivedMail] = []


class SMTPSink:
    """A tiny SMTP server that keeps every message it is given (`messages`)."""

    def __init__(self) -> None:
        self._server = _SinkServer()
        self.port = self._server.server_address[1]
        self.messages = self._server.messages
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "SMTPSink":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
