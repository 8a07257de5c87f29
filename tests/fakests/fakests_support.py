"""Shared helpers of the stsauth-fake-sts interop tests.

Starts the fake on an ephemeral port (read from its first stdout line), talks to it over TLS
with an explicit SNI and Host header (no DNS needed), and makes tokens with independent
signers: Debian's botocore (SigV4QueryAuth) and awscli (`aws eks get-token`).
Standard library + python3-botocore only.
"""

import argparse
import base64
import contextlib
import ctypes
import datetime
import hashlib
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import types
import unittest
import urllib.parse
from unittest import mock

import botocore.auth
import botocore.credentials
from botocore.awsrequest import AWSRequest

STS_HOST = "sts.us-west-2.amazonaws.com"
REGION = "us-west-2"
CLUSTER = "test-cluster"

# The keys of tests/data/fakests/credentials.yaml.
LONG_TERM = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
TEMPORARY = (
    "ASIAEXAMPLETEMPKEY01",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLXdlc3QtMiJHMEUCIQD+EXAMPLE/token+with/slashes+and+plus==",
)
ALICE_ARN = "arn:aws:iam::111122223333:user/alice"
BOB_ARN = "arn:aws:sts::111122223333:assumed-role/Admin/bob"

ARGS = None


def main():
    """Parses our flags (--fake, --config, --aws), then runs unittest with the rest."""
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--fake", required=True, help="path of stsauth-fake-sts")
    parser.add_argument("--config", required=True, help="credentials YAML of the fake")
    parser.add_argument("--aws", default="", help="path of Debian's aws CLI")
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


class FakeSts:
    """One stsauth-fake-sts process on 127.0.0.1:<ephemeral port>."""

    def __init__(self, *extra_args, startup_timeout=15):
        self.dir = tempfile.mkdtemp(prefix="fakests-")
        self.ca = os.path.join(self.dir, "ca.pem")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self._stderr = open(self.stderr_path, "wb")
        cmd = [ARGS.fake, "--port", "0", "--config", ARGS.config, "--ca-out", self.ca, *extra_args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr, preexec_fn=die_with_parent)
        line = read_first_line(self.proc, startup_timeout)
        if line is None:
            err = self.stderr()
            self.stop()
            raise RuntimeError(f"fake did not start; stderr: {err}")
        m = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            err = self.stderr()
            self.stop()
            raise RuntimeError(f"unexpected first line {line!r}; stderr: {err}")
        self.port = int(m.group(1))
        self.context = ssl.create_default_context(cafile=self.ca)

    def stderr(self):
        if not self._stderr.closed:
            self._stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, check=False):
        """Stops the fake (SIGTERM, then SIGKILL after 5 s). With `check`, a fake that did not
        exit cleanly (crash, sanitizer report, hang) is an AssertionError."""
        already_exited = self.proc.poll() is not None
        if not already_exited:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()
        err = self.stderr() if check else ""
        self._stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        if check and (already_exited or self.proc.returncode != 0):
            raise AssertionError(f"fake exited with {self.proc.returncode} "
                                 f"({'before' if already_exited else 'after'} SIGTERM); stderr: {err[-4000:]}")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.stop(check=exc_type is None)

    # ---- HTTP -----------------------------------------------------------------------------

    def connection(self, sni=STS_HOST, timeout=10):
        return PinnedHTTPSConnection(sni, self.port, self.context, timeout)

    def request(self, method, target, headers, body=None, sni=STS_HOST, timeout=10):
        """Sends one request on a new connection; returns (status, headers dict, body bytes)."""
        conn = self.connection(sni, timeout)
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def send_token_url(self, url, cluster=CLUSTER, host=None, accept_json=True, sni=STS_HOST):
        """GET of a presigned URL the way stsauth sends it: Host as in the URL (or `host`),
        x-k8s-aws-id, Accept: application/json."""
        parts = urllib.parse.urlsplit(url)
        target = parts.path + "?" + parts.query
        headers = {"Host": host if host is not None else parts.netloc, "x-k8s-aws-id": cluster}
        if accept_json:
            headers["Accept"] = "application/json"
        return self.request("GET", target, headers, sni=sni)

    def control(self, method, path, payload=None):
        body = json.dumps(payload).encode() if payload is not None else None
        headers = {"Host": "localhost"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        status, _, data = self.request(method, path, headers, body=body, sni="localhost")
        return status, json.loads(data)

    def stats(self):
        status, doc = self.control("GET", "/_stats")
        assert status == 200, doc
        return doc

    def reset_stats(self):
        status, doc = self.control("POST", "/_stats/reset")
        assert status == 200, doc

    def set_faults(self, **faults):
        return self.control("POST", "/_faults", faults)


def die_with_parent():
    """In the child (preexec_fn): SIGTERM when the test process dies, even by SIGKILL (a CTest
    timeout), so that no child outlives its test."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


def read_first_line(proc, timeout):
    """The first line `proc` writes to its stdout (a pipe), decoded; None if it exits or
    `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    buf = b""
    fd = proc.stdout.fileno()
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            buf += os.read(fd, 4096)
    return buf.split(b"\n", 1)[0].decode()


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to 127.0.0.1:<port> whatever the name; SNI and the certificate check use `name`."""

    def __init__(self, name, port, context, timeout=10):
        super().__init__(name, port, context=context, timeout=timeout)

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        # http.client writes headers and body separately: without this, Nagle's algorithm and
        # delayed ACKs cost 40 ms per keep-alive request.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


# ---- Signers ---------------------------------------------------------------------------------


class _FrozenDatetime(datetime.datetime):
    frozen = None

    @classmethod
    def utcnow(cls):
        return cls.frozen

    @classmethod
    def now(cls, tz=None):
        return cls.frozen.replace(tzinfo=tz) if tz else cls.frozen


_clock_lock = threading.Lock()


@contextlib.contextmanager
def signing_clock(when):
    """While open, botocore.auth signs at `when`: its datetime module is replaced by one whose
    clock stands still (and, in botocore 1.31+, get_current_datetime too). The clock is
    process-wide, so one thread at a time holds it."""
    with _clock_lock:
        _FrozenDatetime.frozen = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        shim = types.SimpleNamespace(datetime=_FrozenDatetime, timezone=datetime.timezone,
                                     timedelta=datetime.timedelta)
        with contextlib.ExitStack() as patches:
            patches.enter_context(mock.patch.object(botocore.auth, "datetime", shim))
            if hasattr(botocore.auth, "get_current_datetime"):
                patches.enter_context(mock.patch.object(botocore.auth, "get_current_datetime",
                                                        lambda *a, **k: _FrozenDatetime.frozen))
            yield


class _EmptyBodyHashQueryAuth(botocore.auth.SigV4QueryAuth):
    """botocore's presigner with the Go SDK's payload convention (SHA-256 of the empty body)."""

    def payload(self, request):
        return hashlib.sha256(b"").hexdigest()


def botocore_presign(creds=LONG_TERM, region=REGION, host=STS_HOST, cluster=CLUSTER, when=None,
                     empty_body_hash=False, version=True):
    """A presigned GetCallerIdentity URL signed by botocore's SigV4QueryAuth (UNSIGNED-PAYLOAD,
    as botocore presigns; or the SHA-256 of the empty body), optionally at another time."""
    akid, secret, token = creds
    query = "Action=GetCallerIdentity" + ("&Version=2011-06-15" if version else "")
    request = AWSRequest(method="GET", url=f"https://{host}/?{query}", headers={"x-k8s-aws-id": cluster})
    cls = _EmptyBodyHashQueryAuth if empty_body_hash else botocore.auth.SigV4QueryAuth
    signer = cls(botocore.credentials.Credentials(akid, secret, token), "sts", region, expires=60)
    if when is None:
        signer.add_auth(request)
    else:
        with signing_clock(when):
            signer.add_auth(request)
    return request.url


def aws_eks_get_token(creds=LONG_TERM, cluster=CLUSTER, region=REGION):
    """`aws eks get-token` (Debian's awscli) in a clean environment; returns the token."""
    if not ARGS.aws:
        raise unittest.SkipTest("aws CLI not found")
    akid, secret, token = creds
    home = tempfile.mkdtemp(prefix="fakests-aws-")
    try:
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": home,
            "AWS_ACCESS_KEY_ID": akid,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_CONFIG_FILE": os.path.join(home, "config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
            "AWS_STS_REGIONAL_ENDPOINTS": "regional",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
        }
        if token:
            env["AWS_SESSION_TOKEN"] = token
        out = subprocess.run([ARGS.aws, "eks", "get-token", "--cluster-name", cluster, "--region", region,
                              "--output", "json"], env=env, capture_output=True, timeout=60, check=True)
        doc = json.loads(out.stdout)
        assert doc["kind"] == "ExecCredential", doc
        return doc["status"]["token"]
    finally:
        shutil.rmtree(home, ignore_errors=True)


def token_to_url(token):
    """k8s-aws-v1.<base64url, no padding> -> the presigned URL."""
    prefix = "k8s-aws-v1."
    assert token.startswith(prefix), "not a k8s-aws-v1 token"
    payload = token[len(prefix):]
    assert "=" not in payload
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()


def query_params(url):
    return urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True)


def replace_param(url, key, value):
    """The URL with one parameter's value replaced, re-encoded as botocore encodes it."""
    parts = urllib.parse.urlsplit(url)
    params = [(k, value if k == key else v) for k, v in query_params(url)]
    query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
                     for k, v in params)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def sts_error(body):
    """(Code, Type, RequestId) of an STS JSON error body."""
    doc = json.loads(body)
    return doc["Error"]["Code"], doc["Error"]["Type"], doc["RequestId"]
