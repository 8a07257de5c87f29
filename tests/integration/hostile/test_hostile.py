#!/usr/bin/env python3
"""Hostile-input suite of `stsauth server` (SPEC-decisions A2–A4, A7, A11; SPEC-reference §11).

One server and one fake STS per part (CTest entry), crafted cases in tables. Each case asserts
the exact outcome (HTTP status and the whole body or TokenReview, whose `status.error` is the
deny reason the server also logs and counts in stsauth_denials_total) and how many requests the
fake STS received for it: zero for every case refused locally. Cases refused locally run
concurrently (the fake's count must stay 0 across the batch); cases that reach STS run one at a
time with the fake's counters reset before each.

Parts: `http` (HTTP layer and TLS), `request` (TokenReview JSON, token envelope, host confusion,
query), `sts` (STS answers and faults, identity mapping). Each prints `cases: N` per class.
"""

import base64
import concurrent.futures
import datetime
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import harness  # noqa: E402
from harness import (ADMIN_ARN, BOB_ARN, CLUSTER_ID, DEPLOYER_ARN, MALLORY_ARN, REGION, STS_HOST, V1BETA1,  # noqa: E402
                     FakeCert, metric, presign, record_token, review_body, token_to_url, url_to_token, wait_until)
from harness import expected_denied as denied  # noqa: E402

STS_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 2.0
IDLE_TIMEOUT_S = 3.0
MAX_CONNECTIONS = 48

WORKDIR = CERT = CREDS = None
COUNTS = {}
_count_lock = threading.Lock()


def count(cls, n=1):
    with _count_lock:
        COUNTS[cls] = COUNTS.get(cls, 0) + n


def config(health_port):
    head = harness.config_head("tests/integration/hostile/test_hostile.py", health_port)
    return head + f"""  sts: {{timeout: 2s, cacheTTL: 60s}}
  limits: {{maxBodyBytes: 65536, maxHeaderBytes: 8192, maxConnections: {MAX_CONNECTIONS}, readTimeout: 2s,
            idleTimeout: 3s}}
  reservedPrefixConfig:
  - backendmode: MountedFile
    usernamePrefixReserveList: ["system:", "eks:"]
  mapRoles:
  - rolearn: arn:aws:iam::111122223333:role/Admin
    username: "admin:{{{{SessionName}}}}"
    groups: [system:masters]
  - rolearn: arn:aws:iam::111122223333:role/Raw
    username: "{{{{SessionNameRaw}}}}"
    groups: [raw]
  - rolearn: arn:aws:iam::111122223333:role/Bare
    username: "{{{{SessionName}}}}"
  - rolearn: arn:aws:iam::111122223333:role/Eks
    username: "eks:{{{{SessionName}}}}"
  mapUsers:
  - userarn: {BOB_ARN}
    username: bob
    groups: [developers]
  - userarn: arn:aws:iam::111122223333:user/sysadmin
    username: "system:admin"
  mapAccounts: ["444455556666"]
"""


# ---- raw TLS client ---------------------------------------------------------------------------


class Raw:
    """A TLS connection to the server with byte-level control; read() parses one response."""

    def __init__(self, server, timeout=10, handshake=True):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if handshake:
            self.sock = server._context.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        self.sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = self.sock.recv(65536)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return False
        if not chunk:
            return False
        self.buf += chunk
        return True

    def read(self, timeout=10):
        """(status, headers, body) of the next response, or None if the connection closed first."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline):
                return None
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            if not self._fill(deadline):
                break
            rest = self.buf.split(b"\r\n\r\n", 1)[1]
        body, self.buf = rest[:length], rest[length:]
        harness.record_output(body)
        return status, headers, body

    def closed_within(self, timeout):
        """True if the server closes the connection (EOF/reset) within `timeout` s, sending nothing."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.sock.settimeout(max(0.05, deadline - time.monotonic()))
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ssl.SSLError, ConnectionResetError, BrokenPipeError, OSError):
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def req(method, target, body=b"", headers=None, version="HTTP/1.1"):
    headers = dict(headers or {})
    lines = [f"{method} {target} {version}"]
    if "Host" not in headers and version == "HTTP/1.1":
        lines.append("Host: localhost")
    for k, v in headers.items():
        lines.append(f"{k}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def post(body, extra=None, content_length=True):
    headers = {"Content-Type": "application/json"}
    if content_length:
        headers["Content-Length"] = str(len(body))
    headers.update(extra or {})
    return req("POST", "/authenticate", body, headers)


# ---- test base --------------------------------------------------------------------------------


class HostileCase(harness.FakeAndServerCase):
    @classmethod
    def fixture(cls):
        return CERT, WORKDIR

    @classmethod
    def server_config(cls, health_port):
        return config(health_port)

    def sts_total(self):
        return self.fake.stats()["total"]

    def assert_healthy(self):
        resp = self.server.health("/healthz", timeout=5)
        self.assertEqual((resp.status, resp.body), (200, b"ok"))
        self.assertIsNone(self.server.proc.poll(), "the server died")

    def run_local_batch(self, cls_name, cases, fn):
        """Runs fn(case) for every case concurrently; fn raises on a wrong outcome. Then checks
        that the fake STS saw no request at all for the whole batch."""
        before = self.sts_total()
        errors = []

        def one(case):
            try:
                fn(case)
            except Exception as e:  # noqa: BLE001 (collected, reported with the case name)
                errors.append(f"{case[0]}: {e!r}")

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(one, cases))
        for e in errors:
            print(f"\nFAILED CASE {cls_name}: {e[:600]}", file=sys.stderr)
        self.assertEqual(len(errors), 0, f"{len(errors)} of {len(cases)} {cls_name} cases failed (listed above)")
        self.assertEqual(self.sts_total(), before, f"{cls_name}: a locally refused case reached STS")
        count(cls_name, len(cases))


# ---- part http ---------------------------------------------------------------------------------


class HttpLayerTests(HostileCase):
    """Methods, paths, bodies, framing, header limits, pipelining, slow and idle peers, TLS."""

    def exchange(self, data, timeout=10):
        raw = Raw(self.server)
        try:
            raw.send(data)
            return raw.read(timeout), raw
        except BaseException:
            raw.close()
            raise

    def test_requests_answered_and_closed(self):
        garbage = "k8s-aws-v1.!!"
        good_review = review_body(garbage)
        chunked_body = (f"{len(good_review):x}\r\n").encode() + good_review + b"\r\n0\r\n\r\n"
        big_headers = {f"X-Filler-{i}": "v" * 40 for i in range(200)}
        # (name, raw request, status, body or None (any), connection closes after?)
        cases = [
            ("GET /authenticate", req("GET", "/authenticate"), 405, b"expected POST\n", False),
            ("PUT /authenticate", req("PUT", "/authenticate", b"{}", {"Content-Length": "2"}), 405,
             b"expected POST\n", False),
            ("DELETE /authenticate", req("DELETE", "/authenticate"), 405, b"expected POST\n", False),
            ("PATCH /authenticate", req("PATCH", "/authenticate", b"{}", {"Content-Length": "2"}), 405,
             b"expected POST\n", False),
            ("HEAD /authenticate", req("HEAD", "/authenticate"), 405, b"", False),
            ("POST /", post(good_review).replace(b"/authenticate", b"/", 1), 404, b"404 page not found\n", False),
            ("POST /AUTHENTICATE", post(good_review).replace(b"/authenticate", b"/AUTHENTICATE", 1), 404,
             b"404 page not found\n", False),
            ("POST //authenticate", post(good_review).replace(b"/authenticate", b"//authenticate", 1), 404,
             b"404 page not found\n", False),
            ("POST /authenticate%2F", post(good_review).replace(b"/authenticate", b"/authenticate%2F", 1), 404,
             b"404 page not found\n", False),
            ("POST /x/../authenticate", post(good_review).replace(b"/authenticate", b"/x/../authenticate", 1), 404,
             b"404 page not found\n", False),
            ("POST without body (Content-Length 0)", post(b""), 400, None, False),
            ("POST without any framing", post(b"", content_length=False), 400, None, False),
            ("declared body over the limit", post(b"", {"Content-Length": "10000000"}), 413, None, True),
            ("body over the limit sent", post(b"{" + b" " * 70000 + b"}"), 413, None, True),
            ("chunked body accepted", req("POST", "/authenticate", chunked_body,
                                          {"Transfer-Encoding": "chunked", "Content-Type": "application/json"}),
             200, (json.dumps(denied("bad_base64"), separators=(",", ":")) + "\n").encode(), False),
            ("chunked body with a bad chunk size", req("POST", "/authenticate", b"zz\r\n{}\r\n0\r\n\r\n",
                                                       {"Transfer-Encoding": "chunked"}), 400, None, True),
            ("Content-Length and Transfer-Encoding", req("POST", "/authenticate", chunked_body,
                                                         {"Transfer-Encoding": "chunked",
                                                          "Content-Length": str(len(chunked_body))}),
             400, b"400 Bad Request: bad Content-Length\n", True),
            ("two Content-Length fields", req("POST", "/authenticate", good_review,
                                              {"Content-Length": str(len(good_review)),
                                               "content-length": str(len(good_review))}),
             400, b"400 Bad Request: several Content-Length fields\n", True),
            ("Content-Length not a number", req("POST", "/authenticate", good_review, {"Content-Length": "12a"}),
             400, None, True),
            ("Content-Length negative", req("POST", "/authenticate", good_review, {"Content-Length": "-1"}),
             400, None, True),
            ("Content-Length with a plus sign", req("POST", "/authenticate", good_review,
                                                    {"Content-Length": f"+{len(good_review)}"}), 400, None, True),
            ("Transfer-Encoding gzip", req("POST", "/authenticate", b"", {"Transfer-Encoding": "gzip"}), 501, None,
             True),
            ("Transfer-Encoding twice", req("POST", "/authenticate", chunked_body,
                                            {"Transfer-Encoding": "chunked", "transfer-encoding": "chunked"}),
             400, b"400 Bad Request: bad Transfer-Encoding\n", True),
            ("Transfer-Encoding in HTTP/1.0", req("POST", "/authenticate", chunked_body,
                                                  {"Transfer-Encoding": "chunked"}, version="HTTP/1.0"),
             400, b"400 Bad Request: Transfer-Encoding in an HTTP/1.0 request\n", True),
            ("bare LF line endings", b"GET /healthz HTTP/1.1\nHost: localhost\n\n", 400,
             b"400 Bad Request: bare CR or LF in the request header\n", True),
            ("obsolete line folding", b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-A: b\r\n c\r\n\r\n", 400,
             b"400 Bad Request: obsolete line folding in the request header\n", True),
            ("NUL byte in a header", b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-A: b\x00c\r\n\r\n", 400, None,
             True),
            ("header block over 8 KiB (many fields)", req("GET", "/healthz", b"", big_headers), 431,
             b"431 Request Header Fields Too Large: request header over the limit\n", True),
            ("one 9 KiB header field", req("GET", "/healthz", b"", {"X-Big": "a" * 9000}), 431, None, True),
            ("request line over the limit", req("GET", "/healthz?" + "a" * 9000), 414,
             b"414 URI Too Long: request line over the header limit\n", True),
            ("HTTP/1.1 without Host", req("GET", "/healthz", version="HTTP/1.1", headers={"Host": None})
             .replace(b"Host: None\r\n", b""), 400, b"400 Bad Request: HTTP/1.1 needs exactly one Host field\n",
             True),
            ("two Host fields", req("GET", "/healthz", headers={"Host": "localhost", "host": "evil.example"}), 400,
             b"400 Bad Request: HTTP/1.1 needs exactly one Host field\n", True),
            ("HTTP/2.0 request line", req("GET", "/healthz", version="HTTP/2.0"), 505, None, True),
            ("HTTP/0.9 request line", b"GET /healthz\r\n\r\n", 400, None, True),
            ("garbage instead of HTTP", b"\x16\x03\x01\x00\xff garbage garbage\r\n\r\n", 400, None, True),
            ("Expect other than 100-continue", post(good_review, {"Expect": "200-ok"}), 417, None, True),
        ]
        counted = []

        def one(case):
            name, data, status, body, closes = case
            got, raw = self.exchange(data)
            try:
                self.assertIsNotNone(got, f"{name}: connection closed without an answer")
                self.assertEqual(got[0], status, f"{name}: {got}")
                if body is not None:
                    self.assertEqual(got[2], body, name)
                if closes:
                    self.assertTrue(raw.closed_within(5), f"{name}: connection not closed after the refusal")
                counted.append(name)
            finally:
                raw.close()

        self.run_local_batch("http", cases, one)
        self.assertEqual(len(counted), len(cases))
        self.assert_healthy()

    def test_expect_100_continue(self):
        raw = Raw(self.server)
        try:
            body = review_body("k8s-aws-v1.!!")
            raw.send(post(b"", {"Content-Length": str(len(body)), "Expect": "100-continue"}))
            first = raw.read(5)
            self.assertEqual(first[0], 100)
            raw.send(body)
            status, _, got = raw.read(5)
            self.assertEqual((status, json.loads(got)), (200, denied("bad_base64")))
        finally:
            raw.close()
        self.assertEqual(self.sts_total(), 0)
        count("http")

    def test_absolute_form_target(self):
        # RFC 9112 §3.2.2: a server must accept the absolute form; the path still decides.
        data = post(review_body("hello")).replace(b"POST /authenticate", b"POST https://localhost/authenticate", 1)
        got, raw = self.exchange(data)
        raw.close()
        self.assertIsNotNone(got)
        self.assertIn(got[0], (200, 400, 404), got)
        if got[0] == 200:
            self.assertEqual(json.loads(got[2]), denied("bad_prefix"))
        self.assertEqual(self.sts_total(), 0)
        count("http")

    def test_pipelined_flood_is_answered_in_order(self):
        n = 200
        tokens = [f"k8s-aws-v1.{'!' * (i % 7 + 1)}" if i % 2 else f"hello-{i}" for i in range(n)]
        data = b"".join(post(review_body(t)) for t in tokens)
        raw = Raw(self.server)
        try:
            raw.send(data)
            for i, t in enumerate(tokens):
                got = raw.read(20)
                self.assertIsNotNone(got, f"answer {i} of {n} missing")
                self.assertEqual(got[0], 200)
                self.assertEqual(json.loads(got[2]), denied("bad_base64" if i % 2 else "bad_prefix"), i)
        finally:
            raw.close()
        # GETs pipelined, mixed with a refusal in the middle: answers up to it, then close.
        raw = Raw(self.server)
        try:
            raw.send(req("GET", "/healthz") * 10 + b"BROKEN\r\n\r\n" + req("GET", "/healthz") * 10)
            for _ in range(10):
                self.assertEqual(raw.read(10)[:3:2], (200, b"ok"))
            self.assertEqual(raw.read(10)[0], 400)
            self.assertTrue(raw.closed_within(5), "requests after a refused one must not be served")
        finally:
            raw.close()
        self.assertEqual(self.sts_total(), 0)
        count("http", 2)

    def test_slow_and_idle_peers_are_cut_off_without_hurting_others(self):
        def trickle(raw, data):
            """Sends `data` one byte every 0.25 s: the seconds until the server cut the connection,
            or None if it never did."""
            started = time.monotonic()
            for b in data:
                try:
                    raw.send(bytes([b]))
                except OSError:
                    return time.monotonic() - started
                if raw.closed_within(0.25):
                    return time.monotonic() - started
            return None

        def slowloris_header():
            raw = Raw(self.server)
            try:
                return trickle(raw, req("GET", "/healthz"))
            finally:
                raw.close()

        def slow_body():
            raw = Raw(self.server)
            try:
                body = review_body("hello")
                raw.send(post(body)[:-len(body)])
                return trickle(raw, body)
            finally:
                raw.close()

        def truncated_body():
            raw = Raw(self.server)
            try:
                body = review_body("hello")
                raw.send(post(body)[:-10])
                started = time.monotonic()
                return time.monotonic() - started if raw.closed_within(READ_TIMEOUT_S + 8) else None
            finally:
                raw.close()

        def idle_after_request():
            raw = Raw(self.server)
            try:
                raw.send(req("GET", "/healthz"))
                self.assertEqual(raw.read(5)[0], 200)
                started = time.monotonic()
                return time.monotonic() - started if raw.closed_within(IDLE_TIMEOUT_S + 8) else None
            finally:
                raw.close()

        def idle_before_request():
            raw = Raw(self.server)
            try:
                started = time.monotonic()
                return time.monotonic() - started if raw.closed_within(READ_TIMEOUT_S + 8) else None
            finally:
                raw.close()

        def no_tls_handshake():
            raw = Raw(self.server, handshake=False)
            try:
                started = time.monotonic()
                return time.monotonic() - started if raw.closed_within(READ_TIMEOUT_S + 8) else None
            finally:
                raw.close()

        peers = {"slow-loris header": slowloris_header, "slow body": slow_body, "truncated body": truncated_body,
                 "idle after a request": idle_after_request, "idle before the first request": idle_before_request,
                 "TCP without a TLS handshake": no_tls_handshake}
        limits = {"idle after a request": IDLE_TIMEOUT_S}
        results = {}
        health_latencies = []
        stop = threading.Event()

        def probe():
            conn = None
            while not stop.is_set():
                t0 = time.monotonic()
                resp = self.server.request("GET", "/healthz", conn=conn)
                health_latencies.append((time.monotonic() - t0, resp.status))
                time.sleep(0.1)

        prober = threading.Thread(target=probe)
        prober.start()
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=len(peers)) as pool:
                futures = {name: pool.submit(fn) for name, fn in peers.items()}
                for name, f in futures.items():
                    results[name] = f.result(timeout=60)
        finally:
            stop.set()
            prober.join(timeout=20)
        for name, took in results.items():
            with self.subTest(peer=name):
                limit = limits.get(name, READ_TIMEOUT_S)
                self.assertIsNotNone(took, f"{name}: never cut off")
                # Closed by the deadline, not before it (minus the time already spent sending).
                self.assertLess(took, limit + 6, name)
                self.assertGreater(took, limit * 0.5, f"{name}: closed before its deadline")
        self.assertGreater(len(health_latencies), 10)
        self.assertTrue(all(s == 200 for _, s in health_latencies))
        worst = max(t for t, _ in health_latencies)
        print(f"\n/healthz during slow/idle peers: {len(health_latencies)} probes, worst {worst * 1000:.0f} ms",
              file=sys.stderr)
        self.assertLess(worst, 2.0, "slow peers held up other connections")
        self.assertEqual(self.sts_total(), 0)
        count("http", len(peers))

    def test_tls_garbage_and_old_protocols(self):
        cases = []

        def plain_http():
            raw = Raw(self.server, handshake=False)
            try:
                raw.send(req("GET", "/healthz"))
                closed = raw.closed_within(5)
                self.assertTrue(closed)
                self.assertFalse(raw.buf.startswith(b"HTTP/"), raw.buf[:40])
            finally:
                raw.close()

        def random_bytes():
            raw = Raw(self.server, handshake=False)
            try:
                raw.send(os.urandom(2048))
                self.assertTrue(raw.closed_within(5))
                self.assertFalse(raw.buf.startswith(b"HTTP/"))
            finally:
                raw.close()

        def bad_client_hello():
            raw = Raw(self.server, handshake=False)
            try:  # a TLS record header announcing a ClientHello, then nonsense
                raw.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc" + b"\x00" * 508)
                self.assertTrue(raw.closed_within(5))
            finally:
                raw.close()

        def tls_1_1():
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            try:
                ctx.minimum_version = ssl.TLSVersion.TLSv1
                ctx.maximum_version = ssl.TLSVersion.TLSv1_1
                ctx.set_ciphers("ALL:@SECLEVEL=0")
            except (ValueError, ssl.SSLError):
                return  # this OpenSSL cannot even offer TLS 1.1: nothing to prove
            with socket.create_connection(("127.0.0.1", self.server.port), 5) as s:
                with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
                    ctx.wrap_socket(s, server_hostname="localhost").close()

        def wrong_sni_still_served():
            # The server has one certificate; SNI does not select anything, and never crashes it.
            ctx = ssl.create_default_context(cafile=os.path.join(self.server.state_dir, "cert.pem"))
            ctx.check_hostname = False
            with socket.create_connection(("127.0.0.1", self.server.port), 5) as s:
                with ctx.wrap_socket(s, server_hostname="evil.example") as t:
                    t.sendall(req("GET", "/healthz"))
                    self.assertTrue(t.recv(100).startswith(b"HTTP/1.1 200"))

        cases = [("plain HTTP on the TLS port", plain_http), ("random bytes", random_bytes),
                 ("malformed ClientHello", bad_client_hello), ("TLS 1.1 client", tls_1_1),
                 ("unknown SNI name", wrong_sni_still_served)]
        self.run_local_batch("http", cases, lambda c: c[1]())
        self.assert_healthy()

    def test_zz_connection_limit(self):
        # Runs last in this class: it fills the connection table.
        held = []
        try:
            for _ in range(MAX_CONNECTIONS):
                raw = Raw(self.server)
                raw.send(req("GET", "/healthz"))
                self.assertEqual(raw.read(5)[0], 200)
                held.append(raw)
            extra = Raw(self.server, handshake=False)
            try:
                self.assertTrue(extra.closed_within(5), "a connection over maxConnections must be closed")
            finally:
                extra.close()
            self.assertEqual(self.server.health("/healthz").status, 200, "the health port is separate")
            for raw in held:  # the held connections still work
                raw.send(req("GET", "/healthz"))
                self.assertEqual(raw.read(5)[0], 200)
        finally:
            for raw in held:
                raw.close()
        wait_until(lambda: self._healthz_ok(), 10, what="new connections accepted again")
        count("http")

    def _healthz_ok(self):
        try:
            return self.server.request("GET", "/healthz", timeout=3).status == 200
        except OSError:
            return False


# ---- part request: JSON, envelope, host, query -----------------------------------------------


class RequestTests(HostileCase):
    def good_url(self, cred=BOB_ARN, **kw):
        return token_to_url(presign(CREDS[cred], **kw))

    def check_review(self, case):
        name, body, status, expected = case
        resp = self.server.request("POST", "/authenticate", body, {"Content-Type": "application/json"})
        self.assertEqual(resp.status, status, f"{name}: {resp}")
        if isinstance(expected, dict):
            self.assertEqual(resp.json(), expected, name)
        else:
            self.assertEqual(resp.body, expected, name)

    def test_tokenreview_json(self):
        tr = "expected a request body to be a TokenReview: "

        def bad(code):
            return (tr + code + "\n").encode()

        ok_env = '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":%s}}'
        deep = '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"x"},"metadata":' + \
            '{"a":' * 40 + "1" + "}" * 40 + "}"
        cases = [
            ("not JSON", b"not valid json", 400, bad("not_json")),
            ("empty object", b"{}", 400, bad("missing_token")),
            ("array", b"[]", 400, bad("not_object")),
            ("string", b'"TokenReview"', 400, bad("not_object")),
            ("number", b"42", 400, bad("not_object")),
            ("null", b"null", 400, bad("not_object")),
            ("trailing object", (ok_env % '"x"').encode() + b" {}", 400, bad("trailing_data")),
            ("trailing garbage", (ok_env % '"x"').encode() + b"x", 400, bad("trailing_data")),
            ("kind Pod", b'{"apiVersion":"authentication.k8s.io/v1","kind":"Pod","spec":{"token":"x"}}', 400,
             bad("bad_kind")),
            ("kind lower case", b'{"apiVersion":"authentication.k8s.io/v1","kind":"tokenreview","spec":{"token":"x"}}',
             400, bad("bad_kind")),
            ("apiVersion v2", b'{"apiVersion":"authentication.k8s.io/v2","kind":"TokenReview","spec":{"token":"x"}}',
             400, bad("bad_api_version")),
            ("apiVersion v1 bare", b'{"apiVersion":"v1","kind":"TokenReview","spec":{"token":"x"}}', 400,
             bad("bad_api_version")),
            ("apiVersion number", b'{"apiVersion":1,"kind":"TokenReview","spec":{"token":"x"}}', 400,
             bad("bad_api_version")),
            ("duplicate token key", b'{"kind":"TokenReview","spec":{"token":"x","token":"y"}}', 400,
             bad("duplicate_key")),
            ("duplicate spec", b'{"kind":"TokenReview","spec":{"token":"x"},"spec":{"token":"y"}}', 400,
             bad("duplicate_key")),
            ("duplicate apiVersion", b'{"apiVersion":"authentication.k8s.io/v1","apiVersion":"authentication.k8s.io/v1"'
             b',"kind":"TokenReview","spec":{"token":"x"}}', 400, bad("duplicate_key")),
            ("nesting 40 deep", deep.encode(), 400, bad("too_deep")),
            ("nesting 30000 deep", b"[" * 30000 + b"]" * 30000, 400, bad("not_object")),
            ("object nesting 10000 deep", b'{"a":' * 10000 + b"1" + b"}" * 10000, 400, bad("too_deep")),
            ("40 KiB string", (ok_env % json.dumps("k8s-aws-v1." + "A" * 40000)).encode(), 400,
             bad("string_too_long")),
            ("2 KiB key", ('{"' + "k" * 2000 + '":1,"spec":{"token":"x"}}').encode(), 400, bad("string_too_long")),
            ("invalid UTF-8 byte", (ok_env % '"k8s-aws-v1.\xff"').encode("latin-1"), 400, bad("bad_utf8")),
            ("overlong UTF-8", (ok_env % '"k8s-aws-v1.').encode() + b"\xc0\xaf" + b'"}}', 400, bad("bad_utf8")),
            ("UTF-8 surrogate", (ok_env % '"k8s-aws-v1.').encode() + b"\xed\xa0\x80" + b'"}}', 400, bad("bad_utf8")),
            ("byte order mark", b"\xef\xbb\xbf" + (ok_env % '"x"').encode(), 400, bad("not_json")),
            ("spec missing", b'{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview"}', 400,
             bad("missing_token")),
            ("spec.token missing", b'{"kind":"TokenReview","spec":{}}', 400, bad("missing_token")),
            ("spec.token null", b'{"kind":"TokenReview","spec":{"token":null}}', 400, bad("missing_token")),
            ("spec.token number", (ok_env % "42").encode(), 400, bad("bad_token_type")),
            ("spec.token object", (ok_env % '{"a":"b"}').encode(), 400, bad("bad_token_type")),
            ("spec a list", b'{"kind":"TokenReview","spec":[{"token":"x"}]}', 400, bad("bad_spec")),
            ("audiences a string", b'{"kind":"TokenReview","spec":{"token":"x","audiences":"a"}}', 400,
             bad("bad_audiences")),
            ("audiences with a number", b'{"kind":"TokenReview","spec":{"token":"x","audiences":[1]}}', 400,
             bad("bad_audiences")),
            ("1000 audiences", json.dumps({"kind": "TokenReview", "spec": {"token": "x", "audiences": ["a"] * 1000}})
             .encode(), 400, bad("bad_audiences")),
            ("escaped NUL in the token", (ok_env % '"k8s-aws-v1.\\u0000"').encode(), 200, denied("bad_base64")),
            ("empty token", (ok_env % '""').encode(), 200, denied("bad_prefix")),
            ("no apiVersion or kind: v1beta1 reply, as the reference", b'{"spec":{"token":"hello"}}', 200,
             denied("bad_prefix", V1BETA1)),
            ("v1beta1 echoed", review_body("hello", V1BETA1), 200, denied("bad_prefix", V1BETA1)),
        ]
        self.run_local_batch("tokenreview-json", cases, self.check_review)
        # The truncated-JSON case has no fixed byte offset in its message: checked for its code.
        resp = self.server.request("POST", "/authenticate", (ok_env % '"x"').encode()[:-3])
        self.assertTrue(resp.body.startswith(b"expected a request body to be a TokenReview: not_json"), resp)

    def tokens_batch(self, cls_name, cases):
        def one(case):
            name, token, reason = case
            record_token(token)
            resp = self.server.review(token)
            self.assertEqual(resp.status, 200, f"{name}: {resp}")
            self.assertEqual(resp.json(), denied(reason), name)

        self.run_local_batch(cls_name, cases, one)

    def test_token_envelope(self):
        good = presign(CREDS[BOB_ARN])
        payload = good[len("k8s-aws-v1."):]
        url = token_to_url(good)

        def tok(u):
            return url_to_token(u)

        # 38 bytes: the last base64 character carries 2 unused bits; setting one is non-canonical.
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        nc = base64.urlsafe_b64encode(b"https://sts.us-west-2.amazonaws.com/?a").decode().rstrip("=")
        nc_bad = nc[:-1] + alphabet[alphabet.index(nc[-1]) | 1]
        pad_to_1 = (1 - len(payload)) % 4 or 4
        cases = [
            ("upper-case prefix", "K8S-AWS-V1." + payload, "bad_prefix"),
            ("prefix v2", "k8s-aws-v2." + payload, "bad_prefix"),
            ("leading space", " " + good, "bad_prefix"),
            ("Bearer in front", "Bearer " + good, "bad_prefix"),
            ("trailing space", good + " ", "bad_base64"),
            ("trailing LF", good + "\n", "bad_base64"),
            ("trailing CR LF", good + "\r\n", "bad_base64"),
            ("CR LF inside", good[:60] + "\r\n" + good[60:], "bad_base64"),
            ("tab inside", good[:60] + "\t" + good[60:], "bad_base64"),
            ("padding", good + "=" * (-len(payload) % 4 or 4), "bad_base64"),
            ("standard alphabet", good[:40] + "+/" + good[42:], "bad_base64"),
            ("a dot in the payload", good[:50] + "." + good[51:], "bad_base64"),
            ("impossible length", good + "A" * pad_to_1, "bad_base64"),
            ("non-canonical trailing bits", "k8s-aws-v1." + nc_bad, "bad_base64"),
            ("over maxTokenBytes", "k8s-aws-v1." + "A" * 16374, "token_too_large"),
            ("exactly maxTokenBytes of junk", "k8s-aws-v1." + "QUFB" * 4093, "bad_scheme"),
            ("space in the URL", tok(url.replace("Action=", "Action= ", 1)), "bad_url_bytes"),
            ("DEL byte in the URL", tok(url + "\x7f"), "bad_url_bytes"),
            ("UTF-8 in the URL", tok(url.replace("Action", "Actión", 1)), "bad_url_bytes"),
            ("NUL in the URL", tok(url + "\x00"), "bad_url_bytes"),
            ("prefix only", "k8s-aws-v1.", "bad_scheme"),
            ("scheme http", tok(url.replace("https://", "http://", 1)), "bad_scheme"),
            ("no scheme", tok(url.replace("https://", "", 1)), "bad_scheme"),
            ("scheme ftp", tok(url.replace("https://", "ftp://", 1)), "bad_scheme"),
            ("javascript scheme", tok("javascript:alert(1)"), "bad_scheme"),
        ]
        self.tokens_batch("token-envelope", cases)

    def test_host_confusion(self):
        url = self.good_url()
        host = STS_HOST

        def with_host(h):
            return url_to_token(url.replace(f"https://{host}/", f"https://{h}/", 1))

        cases = [
            ("suffix host", with_host("sts.amazonaws.com.evil.example"), "bad_host"),
            ("regional suffix host", with_host(f"{host}.evil.example"), "bad_host"),
            ("look-alike prefix", with_host("evilsts.us-west-2.amazonaws.com"), "bad_host"),
            ("look-alike domain", with_host("sts.us-west-2.amazonaws.co"), "bad_host"),
            ("look-alike amazonaws-com", with_host("sts.us-west-2.amazonaws-com.example"), "bad_host"),
            ("extra label", with_host("sts.evil.us-west-2.amazonaws.com"), "bad_host"),
            ("userinfo then evil host", with_host(f"{host}@evil.example"), "userinfo"),
            ("evil userinfo", with_host(f"evil.example@{host}"), "userinfo"),
            ("empty userinfo", with_host(f"@{host}"), "userinfo"),
            ("port 443", with_host(f"{host}:443"), "port"),
            ("port 8443", with_host(f"{host}:8443"), "port"),
            ("empty port", with_host(f"{host}:"), "port"),
            ("IPv4 literal", with_host("127.0.0.1"), "bad_host"),
            ("IPv4 literal of AWS", with_host("52.94.236.248"), "bad_host"),
            ("IPv6 literal", with_host("[::1]"), "bad_host"),
            ("trailing dot", with_host(host + "."), "bad_host"),
            ("upper case", with_host(host.upper()), "bad_host"),
            ("mixed case", with_host("Sts.us-west-2.amazonaws.com"), "bad_host"),
            ("percent-encoded dot", with_host("sts.us-west-2.amazonaws%2ecom"), "bad_host"),
            ("percent-encoded letter", with_host("%73ts.us-west-2.amazonaws.com"), "bad_host"),
            ("IDN punycode", with_host("sts.xn--us-wst-2-b1a.amazonaws.com"), "bad_host"),
            ("IDN raw UTF-8", url_to_token(url.replace(host, "sts.us-wést-2.amazonaws.com", 1)), "bad_url_bytes"),
            ("aws-cn host", with_host("sts.cn-north-1.amazonaws.com.cn"), "bad_host"),
            ("aws-us-gov host", with_host("sts.us-gov-west-1.amazonaws.com"), "bad_host"),
            ("iso host", with_host("sts.us-iso-east-1.c2s.ic.gov"), "bad_host"),
            ("not a region", with_host("sts.not-a-region.amazonaws.com"), "bad_host"),
            ("underscore", with_host("sts_us-west-2.amazonaws.com"), "bad_host"),
            ("empty label", with_host("sts..amazonaws.com"), "bad_host"),
            ("empty host", with_host(""), "bad_host"),
            ("no authority", url_to_token(url.replace(f"https://{host}/", "https:/", 1)), "bad_host"),
            ("backslash", with_host(host + "\\evil.example"), "bad_host"),
            ("another service", with_host("iam.amazonaws.com"), "bad_host"),
            ("ec2 endpoint", with_host(f"ec2.{REGION}.amazonaws.com"), "bad_host"),
            ("global host, regional scope", with_host("sts.amazonaws.com"), "bad_scope"),
            ("other region, scope us-west-2", with_host("sts.eu-west-1.amazonaws.com"), "bad_scope"),
            ("fragment", url_to_token(url + "#frag"), "fragment"),
            ("path /x", url_to_token(url.replace(f"{host}/?", f"{host}/x?", 1)), "bad_path"),
            ("path //", url_to_token(url.replace(f"{host}/?", f"{host}//?", 1)), "bad_path"),
            ("empty path", url_to_token(url.replace(f"{host}/?", f"{host}?", 1)), "bad_path"),
            ("%2F instead of the path", url_to_token(url.replace(f"{host}/?", f"{host}%2F?", 1)), "bad_host"),
            ("path /..", url_to_token(url.replace(f"{host}/?", f"{host}/..?", 1)), "bad_path"),
        ]
        self.tokens_batch("host", cases)

    def test_query(self):
        url = self.good_url()
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        cred = q["X-Amz-Credential"]

        def tok(u):
            return url_to_token(u)

        def replace_param(key, value):
            old = f"{key}={urllib.parse.quote(q[key], safe='-_.~')}"
            assert old in url, (old, url)
            return tok(url.replace(old, f"{key}={value}", 1))

        def drop_param(key):
            old = f"{key}={urllib.parse.quote(q[key], safe='-_.~')}"
            u = url.replace("&" + old, "", 1) if "&" + old in url else url.replace(old + "&", "", 1)
            return tok(u)

        akid, day, region, service, term = cred.split("/")
        now = datetime.datetime.now(datetime.timezone.utc)
        cases = [
            ("CVE-2022-2385 lower-case credential", tok(url + "&x-amz-credential=" + urllib.parse.quote(
                f"AKIAEVIL/{day}/{region}/sts/aws4_request", safe="")), "duplicate_parameter"),
            ("upper-case signature twice", tok(url + "&X-AMZ-SIGNATURE=" + "0" * 64), "duplicate_parameter"),
            ("lower-case action", tok(url + "&action=GetCallerIdentity"), "duplicate_parameter"),
            ("signed headers case variant", tok(url + "&x-amz-signedheaders=x-k8s-aws-id"), "duplicate_parameter"),
            ("percent-encoded case variant", tok(url + "&x-amz-%73ignature=" + "0" * 64), "duplicate_parameter"),
            ("percent-encoded same key", tok(url + "&X-Amz-%53ignature=" + "0" * 64), "multiple_values"),
            ("Action twice", tok(url + "&Action=GetCallerIdentity"), "multiple_values"),
            ("Version twice", tok(url + "&Version=2011-06-15"), "multiple_values"),
            ("unknown key", tok(url + "&Foo=bar"), "unknown_parameter"),
            ("unknown X-Amz key", tok(url + "&X-Amz-Foo=bar"), "unknown_parameter"),
            ("DurationSeconds", tok(url + "&DurationSeconds=900"), "unknown_parameter"),
            ("Action AssumeRole", replace_param("Action", "AssumeRole"), "bad_action"),
            ("Action lower case", replace_param("Action", "getcalleridentity"), "bad_action"),
            ("Action empty", replace_param("Action", ""), "bad_action"),
            ("no Action", drop_param("Action"), "missing_parameter"),
            ("Version 2011-06-16", replace_param("Version", "2011-06-16"), "bad_version"),
            ("Version with a plus", replace_param("Version", "2011-06-15+"), "bad_version"),
            ("X-Amz-Expires 901", replace_param("X-Amz-Expires", "901"), "bad_expires"),
            ("X-Amz-Expires -1", replace_param("X-Amz-Expires", "-1"), "bad_expires"),
            ("X-Amz-Expires +60", replace_param("X-Amz-Expires", "%2B60"), "bad_expires"),
            ("X-Amz-Expires huge", replace_param("X-Amz-Expires", "9" * 40), "bad_expires"),
            ("X-Amz-Expires hex", replace_param("X-Amz-Expires", "0x3c"), "bad_expires"),
            ("no X-Amz-Expires", drop_param("X-Amz-Expires"), "missing_parameter"),
            ("no X-Amz-Date", drop_param("X-Amz-Date"), "missing_parameter"),
            ("empty X-Amz-Date", replace_param("X-Amz-Date", ""), "missing_parameter"),
            ("X-Amz-Date Feb 30", replace_param("X-Amz-Date", "20240230T000000Z"), "bad_date"),
            ("X-Amz-Date ISO with dashes", replace_param("X-Amz-Date", now.strftime("%Y-%m-%dT%H:%M:%SZ")),
             "bad_date"),
            ("X-Amz-Date without Z", replace_param("X-Amz-Date", now.strftime("%Y%m%dT%H%M%S")), "bad_date"),
            ("X-Amz-Date hour 24", replace_param("X-Amz-Date", now.strftime("%Y%m%dT240000Z")), "bad_date"),
            ("X-Amz-Date 16 min old", tok(token_to_url(presign(CREDS[BOB_ARN], when=now - datetime.timedelta(
                minutes=16)))), "expired"),
            ("X-Amz-Date 1 day old", tok(token_to_url(presign(CREDS[BOB_ARN], when=now - datetime.timedelta(
                days=1)))), "expired"),
            ("X-Amz-Date year 1970", tok(token_to_url(presign(CREDS[BOB_ARN], when=datetime.datetime(
                1970, 1, 1, tzinfo=datetime.timezone.utc)))), "expired"),
            ("X-Amz-Date 16 min ahead", tok(token_to_url(presign(CREDS[BOB_ARN], when=now + datetime.timedelta(
                minutes=16)))), "date_in_future"),
            ("X-Amz-Date year 2100", tok(token_to_url(presign(CREDS[BOB_ARN], when=datetime.datetime(
                2100, 1, 1, tzinfo=datetime.timezone.utc)))), "date_in_future"),
            ("no X-Amz-SignedHeaders", drop_param("X-Amz-SignedHeaders"), "missing_parameter"),
            ("x-k8s-aws-id not signed", replace_param("X-Amz-SignedHeaders", "host"), "unsigned_cluster_id"),
            ("x-k8s-aws-id as a prefix only", replace_param("X-Amz-SignedHeaders", "host%3Bx-k8s-aws-idx"),
             "unsigned_cluster_id"),
            ("algorithm SHA1", replace_param("X-Amz-Algorithm", "AWS4-HMAC-SHA1"), "bad_algorithm"),
            ("no algorithm", drop_param("X-Amz-Algorithm"), "missing_parameter"),
            ("scope date of yesterday", replace_param("X-Amz-Credential", urllib.parse.quote(
                f"{akid}/{(now - datetime.timedelta(days=1)):%Y%m%d}/{region}/sts/aws4_request", safe="")),
             "bad_scope"),
            ("scope region eu-west-1", replace_param("X-Amz-Credential", urllib.parse.quote(
                f"{akid}/{day}/eu-west-1/sts/aws4_request", safe="")), "bad_scope"),
            ("scope service s3", replace_param("X-Amz-Credential", urllib.parse.quote(
                f"{akid}/{day}/{region}/s3/aws4_request", safe="")), "bad_scope"),
            ("scope terminator", replace_param("X-Amz-Credential", urllib.parse.quote(
                f"{akid}/{day}/{region}/sts/aws4_requesx", safe="")), "bad_credential"),
            ("credential of four parts", replace_param("X-Amz-Credential", urllib.parse.quote(
                f"{akid}/{day}/{region}/sts", safe="")), "bad_credential"),
            ("access key with a bang", replace_param("X-Amz-Credential", urllib.parse.quote(
                f"AKIA!/{day}/{region}/sts/aws4_request", safe="")), "bad_credential"),
            ("no credential", drop_param("X-Amz-Credential"), "missing_parameter"),
            ("signature upper-case hex", replace_param("X-Amz-Signature", q["X-Amz-Signature"].upper()),
             "bad_signature_format"),
            ("signature 63 digits", replace_param("X-Amz-Signature", q["X-Amz-Signature"][:63]),
             "bad_signature_format"),
            ("signature 65 digits", replace_param("X-Amz-Signature", q["X-Amz-Signature"] + "0"),
             "bad_signature_format"),
            ("empty signature", replace_param("X-Amz-Signature", ""), "missing_parameter"),
            ("empty security token", tok(url + "&X-Amz-Security-Token="), "bad_security_token"),
            ("semicolon separator", tok(url.replace("&", ";", 1)), "malformed_query"),
            ("empty pair", tok(url.replace("&", "&&", 1)), "malformed_query"),
            ("trailing ampersand", tok(url + "&"), "malformed_query"),
            ("bad percent escape", tok(url + "&Foo=%zz"), "malformed_query"),
            ("pair without =", tok(url + "&Action"), "malformed_query"),
            ("empty key", tok(url + "&=x"), "malformed_query"),
            ("33 pairs", tok(url + "".join(f"&X{i}=1" for i in range(25))), "malformed_query"),
        ]
        self.tokens_batch("query", cases)


class SignedVariantTests(HostileCase):
    """Tokens re-signed after a change (botocore SigV4QueryAuth), so that only the rule under test
    can refuse them, and the positive controls that must pass (each reaches the fake once)."""

    def presign_custom(self, cred, params=None, host=STS_HOST, region=REGION, expires=60, signed_cluster=True,
                       when=None):
        import botocore.auth
        import botocore.credentials
        from botocore.awsrequest import AWSRequest
        when = when or harness.unique_signing_time()
        query = "&".join(f"{k}={urllib.parse.quote(v, safe='-_.~')}" for k, v in (params or {
            "Action": "GetCallerIdentity", "Version": "2011-06-15"}).items())
        headers = {"x-k8s-aws-id": CLUSTER_ID} if signed_cluster else {}
        request = AWSRequest(method="GET", url=f"https://{host}/?{query}", headers=headers)
        signer = botocore.auth.SigV4QueryAuth(botocore.credentials.Credentials(
            cred.access_key_id, cred.secret_access_key, cred.session_token), "sts", region, expires=expires)
        with harness.signing_clock(when):
            signer.add_auth(request)
        return record_token(url_to_token(request.url))

    def test_signed_but_refused_locally(self):
        bob = CREDS[BOB_ARN]
        base = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}
        now = datetime.datetime.now(datetime.timezone.utc)
        cases = [
            ("signed unknown key", self.presign_custom(bob, {**base, "Foo": "bar"}), "unknown_parameter"),
            ("signed DurationSeconds", self.presign_custom(bob, {**base, "DurationSeconds": "3600"}),
             "unknown_parameter"),
            ("signed other action", self.presign_custom(bob, {"Action": "GetSessionToken", "Version": "2011-06-15"}),
             "bad_action"),
            ("signed X-Amz-Expires 901", self.presign_custom(bob, expires=901), "bad_expires"),
            ("signed X-Amz-Expires 3600", self.presign_custom(bob, expires=3600), "bad_expires"),
            ("signed without x-k8s-aws-id", self.presign_custom(bob, signed_cluster=False), "unsigned_cluster_id"),
            ("signed for aws-cn", self.presign_custom(bob, host="sts.cn-north-1.amazonaws.com.cn",
                                                      region="cn-north-1"), "bad_host"),
            ("signed for us-gov", self.presign_custom(bob, host="sts.us-gov-west-1.amazonaws.com",
                                                      region="us-gov-west-1"), "bad_host"),
            ("signed global host, wrong region", self.presign_custom(bob, host="sts.amazonaws.com", region="us-west-2"),
             "bad_scope"),
            ("signed 15 min 30 s old", self.presign_custom(bob, when=now - datetime.timedelta(seconds=930)),
             "expired"),
        ]

        def one(case):
            name, token, reason = case
            resp = self.server.review(token)
            self.assertEqual((resp.status, resp.json()), (200, denied(reason)), name)

        self.run_local_batch("query-signed", cases, one)

    def test_positive_controls_reach_sts_once(self):
        bob = CREDS[BOB_ARN]
        alice = CREDS[ADMIN_ARN]
        good = token_to_url(presign(bob))
        cases = [
            ("X-Amz-Expires 0", self.presign_custom(bob, expires=0), "bob"),
            ("X-Amz-Expires 900", self.presign_custom(bob, expires=900), "bob"),
            ("no Version", self.presign_custom(bob, {"Action": "GetCallerIdentity"}), "bob"),
            ("sts-fips host", self.presign_custom(bob, host=f"sts-fips.{REGION}.amazonaws.com"), "bob"),
            ("global host us-east-1", self.presign_custom(bob, host="sts.amazonaws.com", region="us-east-1"), "bob"),
            ("HTTPS upper-case scheme", url_to_token(good.replace("https://", "HTTPS://", 1)), "bob"),
            ("lower-case percent escapes", url_to_token(good.replace("%2F", "%2f")), "bob"),
            ("role session with a token", self.presign_custom(alice), "admin:alice"),
            ("signed 14 min old", self.presign_custom(bob, when=datetime.datetime.now(datetime.timezone.utc)
                                                      - datetime.timedelta(minutes=14)), "bob"),
        ]
        for name, token, username in cases:
            with self.subTest(case=name):
                self.fake.reset_stats()
                resp = self.server.review(token)
                self.assertEqual(resp.status, 200, f"{name}: {resp}")
                self.assertTrue(resp.json()["status"]["authenticated"], f"{name}: {resp}")
                self.assertEqual(resp.json()["status"]["user"]["username"], username)
                self.assertEqual(self.fake.stats()["by_outcome"], {"success": 1}, name)
        count("query-signed", len(cases))

    def test_tampered_signed_values_are_refused_by_sts(self):
        bob = CREDS[BOB_ARN]
        alice = CREDS[ADMIN_ARN]
        url = token_to_url(presign(bob))
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        sig = q["X-Amz-Signature"]
        flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
        alice_url = token_to_url(presign(alice))
        aq = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(alice_url).query))
        enc = urllib.parse.quote(aq["X-Amz-Security-Token"], safe="-_.~")
        cases = [
            ("signature flipped", url_to_token(url.replace(sig, flipped)), "SignatureDoesNotMatch"),
            ("another cluster id", presign(bob, cluster="other-cluster"), "SignatureDoesNotMatch"),
            ("security token changed", url_to_token(alice_url.replace(enc, enc[:-6] + "AAAA" + enc[-2:])),
             "InvalidClientTokenId"),
            ("security token added to a long-term key", url_to_token(url + "&X-Amz-Security-Token=abc"),
             "InvalidClientTokenId"),
            ("Version removed after signing", url_to_token(url.replace("&Version=2011-06-15", "", 1)),
             "SignatureDoesNotMatch"),
        ]
        for name, token, code in cases:
            with self.subTest(case=name):
                record_token(token)
                self.fake.reset_stats()
                resp = self.server.review(token)
                self.assertEqual((resp.status, resp.json()), (200, denied("sts_rejected")), name)
                self.assertEqual(self.fake.stats()["by_outcome"], {code: 1}, name)
        count("query-signed", len(cases))


# ---- part sts: answers and mapping --------------------------------------------------------------


def identity_body(arn, user_id, account="111122223333"):
    return json.dumps({"GetCallerIdentityResponse": {
        "GetCallerIdentityResult": {"Account": account, "Arn": arn, "UserId": user_id},
        "ResponseMetadata": {"RequestId": "00000000-0000-0000-0000-000000000000"}}})


class StsAnswerTests(HostileCase):
    def review_with(self, faults, status, reason=None, sts_requests=1, max_s=STS_TIMEOUT_S + 3, username=None):
        if faults:
            self.fake.set_faults(**faults)
        token = presign(CREDS[BOB_ARN])
        before = self.server.metrics()
        t0 = time.monotonic()
        resp = self.server.review(token)
        took = time.monotonic() - t0
        self.assertEqual(resp.status, status, resp)
        if reason is not None:
            self.assertEqual(resp.json(), denied(reason))
            after = self.server.metrics()
            self.assertEqual(metric(after, "stsauth_denials_total", reason=reason)
                             - metric(before, "stsauth_denials_total", reason=reason), 1, reason)
        if username is not None:
            self.assertTrue(resp.json()["status"]["authenticated"], resp)
            self.assertEqual(resp.json()["status"]["user"]["username"], username)
        if status == 503:
            self.assertEqual(resp.headers.get("retry-after"), "1")
        self.assertLess(took, max_s, f"answer took {took:.2f} s")
        if sts_requests is not None:  # a delayed answer is counted when the fake sends it
            wait_until(lambda: self.fake.stats()["total"] >= sts_requests, 8, what="the fake's count")
            self.assertEqual(self.fake.stats()["total"], sts_requests, self.fake.stats())
        self.fake.clear_faults()
        return resp

    def test_sts_failures(self):
        err403 = json.dumps({"Error": {"Code": "SignatureDoesNotMatch", "Message": "no", "Type": "Sender"},
                             "RequestId": "x"})
        cases = [
            ("throttled", {"throttle_rate": 1}, 429, "sts_throttled", 1),
            ("5xx", {"error_rate": 1}, 503, "sts_server_error", 1),
            ("500 with a JSON error", {"body": json.dumps({"Error": {"Code": "InternalFailure"}}), "body_status": 500},
             503, "sts_server_error", 1),
            ("403 from STS", {"body": err403, "body_status": 403}, 200, "sts_rejected", 1),
            ("404 from STS (a 4xx: refused)", {"body": "{}", "body_status": 404}, 200, "sts_rejected", 1),
            ("redirect not followed", {"redirect": "https://sts.amazonaws.com.evil.example/"}, 503, "sts_redirect", 1),
            ("301 with a body", {"body": "{}", "body_status": 301}, 503, "sts_redirect", 1),
            ("XML body", {"xml": True}, 503, "sts_xml_body", 1),
            ("oversize body", {"oversize_body": True}, 503, "sts_body_too_large", 1),
            ("huge JSON body", {"body": json.dumps({"pad": "x" * 70000})}, 503, "sts_body_too_large", 1),
            ("latency beyond the STS timeout", {"latency_ms": 4000}, 503, "sts_timeout", 1),
            ("slow body beyond the STS timeout", {"slow_body_ms": 4000}, 503, "sts_timeout", 1),
            ("malformed JSON", {"body": "{not json"}, 503, "sts_bad_json", 1),
            ("truncated JSON", {"body": identity_body(BOB_ARN, "AIDAINTEGBOB00000001")[:-5]}, 503, "sts_bad_json", 1),
            ("whitespace body", {"body": "   "}, 503, "sts_bad_json", 1),
            ("JSON array", {"body": "[]"}, 503, "sts_bad_shape", 1),
            ("Arn a number", {"body": identity_body(BOB_ARN, "x").replace(json.dumps(BOB_ARN), "42")}, 503,
             "sts_bad_shape", 1),
            ("array nested 10000 deep", {"body": "[" * 10000 + "]" * 10000}, 503, "sts_bad_shape", 1),
            ("object nested 10000 deep, no identity", {"body": "{\"a\":" * 10000 + "1" + "}" * 10000}, 200, "bad_arn", 1),
        ]
        for name, faults, status, reason, n in cases:
            with self.subTest(case=name):
                self.fake.reset_stats()
                self.review_with(faults, status, reason, n)
                self.assert_healthy()
        count("sts-answers", len(cases))

    def test_connection_reset_is_retried_once_then_503(self):
        self.fake.set_faults(reset_rate=1)
        token = presign(CREDS[BOB_ARN])
        t0 = time.monotonic()
        resp = self.server.review(token)
        self.assertLess(time.monotonic() - t0, STS_TIMEOUT_S + 3)
        self.assertEqual(resp.status, 503, resp)
        self.assertEqual(resp.json(), denied("sts_receive_failed"))
        # 1 on a fresh connection; 2 when the first try used a pooled one (retried once, A3).
        self.assertIn(self.fake.stats()["by_outcome"].get("reset"), (1, 2))
        self.fake.clear_faults()
        # The transport failure is not cached: the same token succeeds now.
        resp = self.server.review(token)
        self.assertEqual(resp.json()["status"]["user"]["username"], "bob")
        count("sts-answers")

    def test_odd_identities_and_mapping(self):
        acct = "111122223333"
        cases = [
            # (name, Arn, UserId, account, status, reason or username)
            ("root", f"arn:aws:iam::{acct}:root", acct, acct, 200, ("deny", "not_mapped")),
            ("not an ARN", "not-an-arn", "AIDAX", acct, 200, ("deny", "bad_arn")),
            ("empty ARN", "", "AIDAX", acct, 200, ("deny", "bad_arn")),
            ("upper-case ARN", f"ARN:AWS:STS::{acct}:ASSUMED-ROLE/Admin/alice", "AROAX:alice", acct, 200,
             ("deny", "bad_arn")),
            ("aws-cn partition", f"arn:aws-cn:sts::{acct}:assumed-role/Admin/alice", "AROAX:alice", acct, 200,
             ("deny", "not_mapped")),
            ("unknown partition", f"arn:aws-evil:sts::{acct}:assumed-role/Admin/alice", "AROAX:alice", acct, 200,
             ("deny", "unknown_partition")),
            ("federated user", f"arn:aws:sts::{acct}:federated-user/alice", "AIDAX:alice", acct, 200,
             ("deny", "not_mapped")),
            ("assumed role without session", f"arn:aws:sts::{acct}:assumed-role/Admin", "AROAX:alice", acct, 200,
             ("deny", "assumed_role_without_role")),
            ("s3 ARN", "arn:aws:s3:::bucket", "AIDAX", acct, 200, ("deny", "unsupported_service")),
            ("iam group ARN", f"arn:aws:iam::{acct}:group/admins", "AGPAX", acct, 200, ("deny", "unsupported_resource")),
            ("role UserId without a colon", f"arn:aws:sts::{acct}:assumed-role/Admin/alice", "AROAX", acct, 200,
             ("deny", "malformed_user_id")),
            ("session system:masters", f"arn:aws:sts::{acct}:assumed-role/Bare/system:masters",
             "AROAX:system:masters", acct, 200, ("deny", "malformed_user_id")),
            ("session with @ (SessionName)", f"arn:aws:sts::{acct}:assumed-role/Admin/alice@example.com",
             "AROAX:alice@example.com", acct, 200, ("user", "admin:alice-example.com")),
            ("session with @ (SessionNameRaw)", f"arn:aws:sts::{acct}:assumed-role/Raw/alice@example.com",
             "AROAX:alice@example.com", acct, 200, ("user", "alice@example.com")),
            ("session named system-masters", f"arn:aws:sts::{acct}:assumed-role/Bare/system-masters",
             "AROAX:system-masters", acct, 200, ("user", "system-masters")),
            ("empty session: empty username", f"arn:aws:sts::{acct}:assumed-role/Bare/x", "AROAX:", acct, 200,
             ("deny", "empty_username")),
            ("reserved prefix from a template", f"arn:aws:sts::{acct}:assumed-role/Eks/alice", "AROAX:alice", acct,
             200, ("deny", "reserved_prefix")),
            ("reserved prefix in a mapUsers entry", f"arn:aws:iam::{acct}:user/sysadmin", "AIDAX", acct, 200,
             ("deny", "reserved_prefix")),
            ("user path ignored", f"arn:aws:iam::{acct}:user/team/bob", "AIDAX", acct, 200, ("user", "bob")),
            ("role session", f"arn:aws:sts::{acct}:assumed-role/Admin/alice", "AROAX:alice", acct, 200,
             ("user", "admin:alice")),
            ("mapAccounts", "arn:aws:sts::444455556666:assumed-role/Any/x", "AROAX:x", "444455556666", 200,
             ("user", "arn:aws:iam::444455556666:role/Any")),
            ("user name with a colon", f"arn:aws:iam::{acct}:user/system:admin", "AIDAX", acct, 200,
             ("deny", "not_mapped")),
            ("huge session name", f"arn:aws:sts::{acct}:assumed-role/Admin/{'a' * 30000}", "AROAX:" + "a" * 30000,
             acct, 200, ("user", "admin:" + "a" * 30000)),
            ("Account other than the Arn's (mapped user)", f"arn:aws:iam::{acct}:user/bob", "AIDAX", "444455556666",
             200, ("deny", "sts_identity_mismatch")),
            ("Account in mapAccounts, Arn in another", "arn:aws:sts::999988887777:assumed-role/Any/x", "AROAX:x",
             "444455556666", 200, ("deny", "sts_identity_mismatch")),
            ("empty Account", f"arn:aws:sts::{acct}:assumed-role/Admin/alice", "AROAX:alice", "", 200,
             ("deny", "sts_identity_mismatch")),
        ]
        for name, arn, uid, account, status, (kind, want) in cases:
            with self.subTest(case=name):
                self.fake.reset_stats()
                self.fake.set_faults(body=identity_body(arn, uid, account))
                resp = self.server.review(presign(CREDS[BOB_ARN]))
                self.assertEqual(resp.status, status, f"{name}: {resp}")
                if kind == "deny":
                    self.assertEqual(resp.json(), denied(want), name)
                else:
                    self.assertTrue(resp.json()["status"]["authenticated"], f"{name}: {resp}")
                    self.assertEqual(resp.json()["status"]["user"]["username"], want, name)
                    self.assertFalse(any(g.startswith("system:") and g != "system:masters"
                                         for g in resp.json()["status"]["user"].get("groups", [])))
                self.assertEqual(self.fake.stats()["total"], 1)
                self.fake.clear_faults()
        count("identity-mapping", len(cases))

    def test_identity_mismatch_is_logged_and_never_cached(self):
        self.fake.reset_stats()
        self.fake.set_faults(body=identity_body("arn:aws:iam::111122223333:user/bob", "AIDAX", "444455556666"))
        token = presign(CREDS[BOB_ARN])
        for _ in range(2):
            resp = self.server.review(token)
            self.assertEqual((resp.status, resp.json()), (200, denied("sts_identity_mismatch")))
        self.assertEqual(self.fake.stats()["total"], 2)  # no cache entry: STS asked again
        self.fake.clear_faults()
        wait_until(lambda: "reason=sts_identity_mismatch" in self.server.log(), 5, what="the denial logged")
        line = [ln for ln in self.server.log().splitlines() if "reason=sts_identity_mismatch" in ln][-1]
        self.assertIn("444455556666", line)
        self.assertIn('"111122223333"', line)
        count("identity-mapping", 1)

    def test_real_principals(self):
        cases = [(ADMIN_ARN, "admin:alice"), (BOB_ARN, "bob"), (DEPLOYER_ARN, "arn:aws:iam::444455556666:role/Deployer"),
                 (MALLORY_ARN, None)]
        for arn, username in cases:
            with self.subTest(principal=arn):
                self.fake.reset_stats()
                resp = self.server.review(presign(CREDS[arn]))
                if username is None:
                    self.assertEqual(resp.json(), denied("not_mapped"))
                else:
                    self.assertEqual(resp.json()["status"]["user"]["username"], username)
                self.assertEqual(self.fake.stats()["by_outcome"], {"success": 1})
        count("identity-mapping", len(cases))


PARTS = {
    "http": [HttpLayerTests],
    "request": [RequestTests, SignedVariantTests],
    "sts": [StsAnswerTests],
}


def main():
    global WORKDIR, CERT, CREDS
    args, rest = harness.parse_args(
        __doc__.splitlines()[0], PARTS,
        lambda p: p.add_argument("--min-cases", type=int, default=0, help="fail unless at least this many cases ran"))
    with harness.suite_workdir("stsauth-hostile-") as WORKDIR:
        CERT = FakeCert(WORKDIR)
        CREDS, _ = harness.load_credentials(args.credentials)
        result = harness.run_tests(sys.modules[__name__], PARTS, args.part, rest)
    total = sum(COUNTS.values())
    for cls, n in sorted(COUNTS.items()):
        print(f"cases: {cls} {n}")
    print(f"cases: total {total}")
    if result.wasSuccessful() and total < args.min_cases:
        print(f"FAIL: only {total} cases ran, at least {args.min_cases} expected")
        sys.exit(1)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
