"""Harness of the `stsauth server` end-to-end suite: real processes, real TLS, loopback only.

* `FakeSts`: one `stsauth-fake-sts` on 127.0.0.1 with a certificate made once per run (openssl),
  so that it can be stopped and started again on the same port with the same certificate while
  the server keeps running (recovery tests).
* `Server`: one `stsauth server` with its own state dir, kubeconfig path and config file, port 0
  and a free health port, pointed at the fake (`--sts-connect-override`, `--sts-ca-file`). It
  is reached over TLS with the certificate it generated in its state dir, verified against the
  name `localhost` (the host of the webhook kubeconfig URL).
* Signers: botocore's SigV4QueryAuth in process (fast, any signing time), `stsauth token`,
  `aws eks get-token` (Debian's awscli) and the botocore presigner of tests/integration/token.

Every wait is bounded; every child gets SIGTERM when this process dies (PR_SET_PDEATHSIG) and is
killed in stop() if it does not exit. Standard library, python3-botocore and python3-yaml (a
dependency of Debian's awscli) only.
"""

import argparse
import base64
import contextlib
import datetime
import http.client
import itertools
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import botocore.auth
import botocore.credentials
import yaml
from botocore.awsrequest import AWSRequest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fakests"))
from fakests_support import PinnedHTTPSConnection, die_with_parent, read_first_line, signing_clock  # noqa: E402,F401

REGION = "us-west-2"
STS_HOST = f"sts.{REGION}.amazonaws.com"
CLUSTER_ID = "integ-cluster"
TOKEN_PREFIX = "k8s-aws-v1."
V1 = "authentication.k8s.io/v1"
V1BETA1 = "authentication.k8s.io/v1beta1"

# Principals of tests/data/integration/fake-credentials.yaml that the suites map or refuse.
ADMIN_ARN = "arn:aws:sts::111122223333:assumed-role/Admin/alice"
BOB_ARN = "arn:aws:iam::111122223333:user/bob"
DEPLOYER_ARN = "arn:aws:sts::444455556666:assumed-role/Deployer/ci-run-42"
MALLORY_ARN = "arn:aws:iam::777788889999:user/mallory"

# Set by test_server.main(): paths of the binaries and data (see test_server.py --help).
ARGS = None

# ---- The per-run record of the secrets check (tests/integration/hostile/check_secrets.py) ------
# With STSAUTH_INTEG_RUN_DIR set (CTest sets it for every integration suite), every server and
# fake runs at debug level with its log in <run>/logs, every token minted or sent is appended to
# <run>/tokens, and every response body (reviews, /metrics, health) to <run>/outputs. The check,
# run last, fails if any 16-character piece of a secret appears in a log or an output.
RUN_DIR = os.environ.get("STSAUTH_INTEG_RUN_DIR") or None
_record_lock = threading.Lock()
_log_names = itertools.count(1)


def _append(kind, data):
    if not RUN_DIR:
        return
    directory = os.path.join(RUN_DIR, kind)
    with _record_lock:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, f"{os.getpid()}.txt"), "ab") as f:
            f.write(data)


def record_token(token):
    """Remembers a token (a secret: it must never show up in a log, metric or answer)."""
    if isinstance(token, bytes):
        token = token.decode("utf-8", errors="surrogateescape")
    _append("tokens", (json.dumps(token) + "\n").encode())
    return token


def record_output(body):
    """Remembers something the server answered (scanned for secrets by the final check)."""
    if body:
        _append("outputs", bytes(body) + b"\n")


def log_path_in(workdir, stem):
    """Where a child's log goes: <run>/logs when recording (kept for the check), else workdir."""
    if RUN_DIR:
        directory = os.path.join(RUN_DIR, "logs")
        os.makedirs(directory, exist_ok=True)
        return os.path.join(directory, f"{stem}-{os.getpid()}-{next(_log_names)}.log")
    return os.path.join(workdir, f"{stem}.log")


class Credential:
    """One entry of the fake's credentials file."""

    def __init__(self, entry):
        self.access_key_id = entry["accessKeyId"]
        self.secret_access_key = entry["secretAccessKey"]
        self.session_token = entry.get("sessionToken") or None
        self.arn = entry["arn"]
        self.user_id = entry["userId"]
        self.account = str(entry["account"])

    def env(self):
        """AWS_* environment variables of a client holding this credential."""
        env = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env


def load_credentials(path):
    """{arn: Credential} of the fake's credentials file, and its instances {id: dns name}."""
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    creds = {c["arn"]: Credential(c) for c in doc["credentials"]}
    instances = {i["instanceId"]: i["privateDnsName"] for i in doc.get("instances", [])}
    return creds, instances


def free_port():
    """A TCP port free on 127.0.0.1 right now (the small race is acceptable on loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port, address=""):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
            return True
        except OSError:
            return False


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Polls `predicate` until it returns a true value (returned) or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def write_atomically(path, text):
    """Writes `text` to a temporary file beside `path`, then renames it over `path`."""
    tmp = f"{path}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _stop_process(proc, timeout=10):
    """SIGTERM, bounded wait, then SIGKILL. Returns the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


class FakeCert:
    """A self-signed certificate for the fake (ECDSA P-256), made once per run with openssl, that
    names the STS and EC2 hosts of REGION, sts.amazonaws.com, localhost and 127.0.0.1."""

    def __init__(self, directory):
        self.cert = os.path.join(directory, "fake-cert.pem")
        self.key = os.path.join(directory, "fake-key.pem")
        names = ["sts.amazonaws.com", STS_HOST, f"sts-fips.{REGION}.amazonaws.com", f"ec2.{REGION}.amazonaws.com",
                 "localhost"]
        san = ",".join([f"DNS:{n}" for n in names] + ["IP:127.0.0.1"])
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=stsauth-integration-fake-sts", "-keyout", self.key,
                        "-out", self.cert, "-addext", f"subjectAltName={san}",
                        "-addext", "basicConstraints=critical,CA:TRUE",
                        "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
                        "-addext", "extendedKeyUsage=serverAuth"],
                       check=True, capture_output=True, timeout=30)


class FakeSts:
    """One stsauth-fake-sts process. `port=0` picks a free port; start it again on `self.port`
    after stop() to simulate an STS outage and its end."""

    def __init__(self, cert, workdir, port=0, extra_args=(), credentials=None):
        self.credentials = credentials  # default: ARGS.credentials
        self.cert = cert
        self.workdir = workdir
        self.port = port
        self.extra_args = list(extra_args)
        self.proc = None
        self.starts = 0
        self.context = ssl.create_default_context(cafile=cert.cert)

    def start(self, timeout=15):
        self.starts += 1
        self.log_path = log_path_in(self.workdir, f"fake-sts-{self.starts}")
        self._log = open(self.log_path, "wb")
        cmd = [ARGS.fake, "--address", "127.0.0.1", "--port", str(self.port), "--config", self.credentials_file(),
               "--cert", self.cert.cert, "--key", self.cert.key, *self.extra_args]
        if RUN_DIR:
            cmd += ["--log-level", "debug"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, preexec_fn=die_with_parent)
        line = read_first_line(self.proc, timeout)
        if line is None:
            log = self.log()
            self.stop()
            raise RuntimeError(f"stsauth-fake-sts did not start; log: {log[-2000:]}")
        m = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            self.stop()
            raise RuntimeError(f"stsauth-fake-sts: unexpected first line {line!r}; log: {self.log()[-2000:]}")
        self.port = int(m.group(1))
        return self

    def credentials_file(self):
        return self.credentials or ARGS.credentials

    def log(self):
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc is None:
            return None
        code = _stop_process(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()
        self.proc = None
        return code

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # Control endpoints (not AWS requests: no faults, not counted).
    def control(self, method, path, payload=None):
        body = json.dumps(payload).encode() if payload is not None else None
        conn = PinnedHTTPSConnection("localhost", self.port, self.context, timeout=10)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200:
                raise AssertionError(f"fake {method} {path}: {resp.status} {data!r}")
            return json.loads(data)
        finally:
            conn.close()

    def stats(self):
        """{"total": N, "by_action": {...}, "by_outcome": {...}} over AWS requests."""
        return self.control("GET", "/_stats")

    def reset_stats(self):
        self.control("POST", "/_stats/reset")

    def set_faults(self, **faults):
        return self.control("POST", "/_faults", faults)

    def clear_faults(self):
        return self.control("POST", "/_faults", {"clear": True})


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def __repr__(self):
        return f"Response({self.status}, {self.headers}, {self.body[:500]!r})"


class Server:
    """One `stsauth server` process. The config is `config_text` (written to a file that tests
    may rewrite) or an existing `config_path`. Extra flags are appended after the standard ones."""

    def __init__(self, workdir, config_text=None, config_path=None, fake=None, verbosity="debug", extra_flags=(),
                 standard_flags=True, env=None):
        self.dir = tempfile.mkdtemp(prefix="server-", dir=workdir)
        self.state_dir = os.path.join(self.dir, "state")
        self.kubeconfig = os.path.join(self.dir, "out", "kubeconfig.yaml")
        self.log_path = log_path_in(self.dir, "server")
        if config_path is None:
            config_path = os.path.join(self.dir, "config.yaml")
            write_atomically(config_path, config_text)
        self.config_path = config_path
        self.fake = fake
        self.verbosity = verbosity
        self.standard_flags = standard_flags
        self.extra_flags = list(extra_flags)
        self.env = env
        self.proc = None
        self.port = None
        self.health_port = None
        self.exit_code = None
        self._context = None
        self.tokens_sent = []  # every token this harness sent, for the log check

    def command(self):
        cmd = [ARGS.stsauth, "-c", self.config_path]
        verbosity = "debug" if RUN_DIR else self.verbosity
        if verbosity:
            cmd += ["-v", verbosity]
        cmd += ["server", "--port", "0", "--state-dir", self.state_dir, "--generate-kubeconfig", self.kubeconfig]
        if self.standard_flags and self.fake is not None:
            cmd += ["--sts-connect-override", f"127.0.0.1:{self.fake.port}", "--sts-ca-file", self.fake.cert.cert]
        return cmd + self.extra_flags

    def start(self, timeout=20):
        env = {"PATH": "/usr/bin:/bin", "HOME": self.dir, "AWS_EC2_METADATA_DISABLED": "true"}
        if "ASAN_OPTIONS" in os.environ:
            env["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"]
        if "UBSAN_OPTIONS" in os.environ:
            env["UBSAN_OPTIONS"] = os.environ["UBSAN_OPTIONS"]
        env.update(self.env or {})
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     env=env, cwd=self.dir, preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        while True:
            log = self.log()
            m = re.search(r"main: listening on 127\.0\.0\.1:(\d+) \(TLS\)", log)
            ready = "reconfigure your apiserver" in log
            if m and ready:
                self.port = int(m.group(1))
                h = re.search(r"health: listening on [0-9.:\[\]]*:(\d+)\"", log)
                self.health_port = int(h.group(1)) if h else None
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"stsauth server exited with {self.proc.returncode} at start-up; log:\n{log[-4000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"stsauth server did not start within {timeout} s; log:\n{log[-4000:]}")
            time.sleep(0.05)
        cert = os.path.join(self.state_dir, "cert.pem")
        self._context = ssl.create_default_context(cafile=cert)  # verification stays on
        return self

    def log(self):
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_logged(self, text, timeout=5):
        """Waits for `text` in the log: the server writes its log in batches from a thread of its
        own, so a line can follow the change it reports (a reload counted, a review answered by
        the new mapping) by a few milliseconds, more under a sanitizer on a busy machine."""
        wait_until(lambda: text in self.log(), timeout, what=f"the log line {text!r}")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            self.exit_code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.exit_code

    def stop(self):
        """SIGTERM (bounded wait, then SIGKILL); returns the exit code."""
        if self.proc is None:
            return self.exit_code
        self.exit_code = _stop_process(self.proc, timeout=15)
        self._log.close()
        self.proc = None
        return self.exit_code

    def stop_and_check(self):
        """stop(), then fail unless the server exited 0 with no sanitizer report in its log."""
        code = self.stop()
        log = self.log()
        if code != 0 or "AddressSanitizer" in log or "runtime error:" in log:
            raise AssertionError(f"stsauth server exited with {code} on SIGTERM; log:\n{log[-4000:]}")

    # ---- HTTP -----------------------------------------------------------------------------

    def connection(self, timeout=15):
        return PinnedHTTPSConnection("localhost", self.port, self._context, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None, timeout=15):
        own = conn is None
        conn = conn or self.connection(timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            record_output(data)
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        finally:
            if own:
                conn.close()

    def review(self, token, version=V1, conn=None, path="/authenticate"):
        """POSTs a TokenReview as kube-apiserver does; returns the Response."""
        self.tokens_sent.append(token)
        record_token(token)
        return self.request("POST", path, review_body(token, version),
                            {"Content-Type": "application/json", "Accept": "application/json"}, conn=conn)

    def health(self, path, timeout=10):
        """GET on the plain-HTTP health listener."""
        conn = http.client.HTTPConnection("127.0.0.1", self.health_port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            data = resp.read()
            record_output(data)
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        finally:
            conn.close()

    def metrics(self):
        resp = self.request("GET", "/metrics")
        assert resp.status == 200, resp
        return parse_metrics(resp.text)


# ---- Prometheus text -------------------------------------------------------------------------

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value} of a Prometheus 0.0.4 text page."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise AssertionError(f"not a Prometheus sample line: {line!r}")
        labels = frozenset(_LABEL.findall(m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def metric(samples, name, **labels):
    """Value of one sample (0 when absent)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


# ---- Tokens ------------------------------------------------------------------------------------


def url_to_token(url):
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def token_to_url(token):
    payload = token[len(TOKEN_PREFIX):]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()


_presign_lock = threading.Lock()
_unique_seconds = itertools.count(1)
_signing_base = None  # fixed at the first call: counting down from a moving "now" could repeat a second


def unique_signing_time():
    """A signing time no other token of this run has: 5 minutes before the first call (tokens
    stay valid for 10 more minutes), one second earlier at each call. Signers that use the real
    clock (`aws eks get-token`, `stsauth token`) never sign at these times, so no two tokens of
    the run are equal and the identity cache never joins two tests by accident (botocore's and
    awscli's tokens for the same key and second are byte-for-byte the same)."""
    global _signing_base
    with _presign_lock:
        if _signing_base is None:
            _signing_base = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=300)
        return _signing_base - datetime.timedelta(seconds=next(_unique_seconds))


def presign(cred, cluster=CLUSTER_ID, when=None, region=REGION, host=STS_HOST):
    """A token presigned in process by botocore's SigV4QueryAuth (UNSIGNED-PAYLOAD) at `when`
    (default: unique_signing_time())."""
    if when is None:
        when = unique_signing_time()
    request = AWSRequest(method="GET", url=f"https://{host}/?Action=GetCallerIdentity&Version=2011-06-15",
                         headers={"x-k8s-aws-id": cluster})
    signer = botocore.auth.SigV4QueryAuth(
        botocore.credentials.Credentials(cred.access_key_id, cred.secret_access_key, cred.session_token), "sts",
        region, expires=60)
    with signing_clock(when):
        signer.add_auth(request)
    return record_token(url_to_token(request.url))


def _client_env(cred, home):
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "AWS_CONFIG_FILE": os.path.join(home, "config"),
           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"), "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_STS_REGIONAL_ENDPOINTS": "regional", "AWS_PAGER": ""}
    env.update(cred.env())
    return env


def stsauth_token(cred, cluster=CLUSTER_ID, region=REGION):
    """`stsauth token --token-only` with the credential in the environment."""
    home = tempfile.mkdtemp(prefix="client-")
    try:
        out = subprocess.run([ARGS.stsauth, "token", "-i", cluster, "--region", region, "--token-only"],
                             env=_client_env(cred, home), capture_output=True, timeout=30)
        if out.returncode != 0:
            raise AssertionError(f"stsauth token failed ({out.returncode}): {out.stderr.decode(errors='replace')}")
        return record_token(out.stdout.decode().strip())
    finally:
        shutil.rmtree(home, ignore_errors=True)


def aws_eks_get_token(cred, cluster=CLUSTER_ID, region=REGION):
    """`aws eks get-token` (Debian's awscli); the token of its ExecCredential."""
    if not ARGS.aws:
        raise unittest.SkipTest("Debian's aws CLI not found")
    home = tempfile.mkdtemp(prefix="client-")
    try:
        out = subprocess.run([ARGS.aws, "eks", "get-token", "--cluster-name", cluster, "--region", region,
                              "--output", "json"], env=_client_env(cred, home), capture_output=True, timeout=60)
        if out.returncode != 0:
            raise AssertionError(f"aws eks get-token failed ({out.returncode}): {out.stderr.decode(errors='replace')}")
        doc = json.loads(out.stdout)
        if doc.get("kind") != "ExecCredential" or "token" not in doc.get("status", {}):
            raise AssertionError(f"not an ExecCredential: {doc}")
        return record_token(doc["status"]["token"])
    finally:
        shutil.rmtree(home, ignore_errors=True)


def botocore_presign_script(cred, cluster=CLUSTER_ID, region=REGION, when=None):
    """tests/integration/token/botocore_presign.py (botocore's STS client, as `aws eks get-token`)."""
    script = os.path.join(ARGS.source_dir, "tests", "integration", "token", "botocore_presign.py")
    if not os.path.exists(script):
        raise unittest.SkipTest(f"{script} not found")
    when = when or unique_signing_time()
    home = tempfile.mkdtemp(prefix="client-")
    try:
        out = subprocess.run([ARGS.python, script, "--cluster-id", cluster, "--region", region,
                              "--time", when.strftime("%Y%m%dT%H%M%SZ")],
                             env=_client_env(cred, home), capture_output=True, timeout=60)
        if out.returncode != 0:
            raise AssertionError(f"botocore_presign.py failed ({out.returncode}): {out.stderr.decode(errors='replace')}")
        return record_token(url_to_token(out.stdout.decode().strip()))
    finally:
        shutil.rmtree(home, ignore_errors=True)


# ---- Expected TokenReview replies (SPEC-reference §3.3, SPEC-decisions A4) ----------------------


def canonical_arn(arn):
    """arn:aws:sts::A:assumed-role/R/S -> arn:aws:iam::A:role/R; IAM users stay as they are."""
    m = re.fullmatch(r"arn:([^:]+):sts::(\d+):assumed-role/([^/]+)/.+", arn)
    if m:
        return f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}"
    return arn


def expected_authenticated(cred, username, groups, version=V1):
    """The whole authenticated reply for a principal of the fake's credentials file."""
    is_role = ":assumed-role/" in cred.arn
    user_id, session = cred.user_id.split(":", 1) if is_role else (cred.user_id, "")
    user = {"username": username, "uid": f"aws-iam-authenticator:{cred.account}:{user_id}"}
    if groups:
        user["groups"] = groups
    user["extra"] = {
        "accessKeyId": [cred.access_key_id],
        "arn": [cred.arn],
        "canonicalArn": [canonical_arn(cred.arn)],
        "principalId": [user_id],
        "sessionName": [session],
        "sigs.k8s.io/aws-iam-authenticator/principalId": [user_id],
    }
    return {"apiVersion": version, "kind": "TokenReview", "metadata": {}, "spec": {},
            "status": {"authenticated": True, "user": user}}


def expected_denied(reason, version=V1):
    return {"apiVersion": version, "kind": "TokenReview", "metadata": {}, "spec": {},
            "status": {"authenticated": False, "user": {}, "error": reason}}


def config_head(writer, health_port, shutdown_grace="5s"):
    """The start of a MountedFile config as Server runs it: main listener on loopback, the name
    its certificate and kubeconfig use (localhost), the health listener on 127.0.0.1:health_port.
    `writer` names the file that wrote it; the caller appends its own `server:` keys."""
    return f"""# written by {writer}
clusterID: {CLUSTER_ID}
server:
  address: 127.0.0.1
  hostname: localhost
  healthPort: {health_port}
  healthAddress: 127.0.0.1
  shutdownGrace: {shutdown_grace}
  backendMode: [MountedFile]
"""


def review_body(token, version=V1):
    """The TokenReview kube-apiserver POSTs for `token`, encoded."""
    return json.dumps({"apiVersion": version, "kind": "TokenReview",
                       "spec": {"token": token, "audiences": ["https://kubernetes.default.svc"]}}).encode()


# ---- The suites' common frame: flags, temporary directory, per-class processes, runner ---------


class FakeAndServerCase(unittest.TestCase):
    """One fake and one server for the whole class: started in setUpClass (the fake stopped again
    if the server does not start), both stopped in tearDownClass whatever happened, the server
    checked to exit 0 without a sanitizer report. A subclass defines `fixture()` -> (cert,
    workdir) and `server_config(health_port)`. Before each test the fake is started again if a
    test stopped it, and its faults and counters are cleared."""

    verbosity = "debug"

    @classmethod
    def fixture(cls):
        raise NotImplementedError

    @classmethod
    def server_config(cls, health_port):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cert, workdir = cls.fixture()
        cls.fake = FakeSts(cert, workdir).start()
        try:
            cls.health_port = free_port()
            cls.server = Server(workdir, cls.server_config(cls.health_port), fake=cls.fake,
                                verbosity=cls.verbosity).start()
        except BaseException:
            cls.fake.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop_and_check()
        finally:
            cls.fake.stop()

    def setUp(self):
        if not self.fake.running:
            self.fake.start()
        self.fake.clear_faults()
        self.fake.reset_stats()


def parse_args(description, parts=None, add_arguments=None):
    """Parses the flags every suite takes (and --part when it has `parts`, plus whatever
    `add_arguments(parser)` adds), makes the paths absolute and sets ARGS. Returns (args, rest):
    the rest are unittest names."""
    global ARGS
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--stsauth", required=True, help="path of the stsauth binary")
    parser.add_argument("--fake", required=True, help="path of stsauth-fake-sts")
    parser.add_argument("--credentials", required=True, help="credentials YAML of the fake")
    parser.add_argument("--source-dir", required=True, help="the source tree (config/, tests/integration/token/)")
    parser.add_argument("--aws", default="", help="Debian's aws CLI")
    parser.add_argument("--python", default=sys.executable, help="python3 with botocore, for the botocore signer")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    if parts:
        parser.add_argument("--part", choices=[*parts, "all"], default="all")
    if add_arguments:
        add_arguments(parser)
    args, rest = parser.parse_known_args()
    for name in ("stsauth", "fake", "credentials", "source_dir"):
        setattr(args, name, os.path.abspath(getattr(args, name)))
    ARGS = args
    return args, rest


@contextlib.contextmanager
def suite_workdir(prefix):
    """A temporary directory for the run, removed at the end unless --keep."""
    workdir = tempfile.mkdtemp(prefix=prefix)
    try:
        yield workdir
    finally:
        if ARGS is not None and ARGS.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run_tests(module, parts=None, part="all", rest=(), classes=()):
    """Runs the unittest names in `rest` if any, else the classes of `part` of `parts` (all of
    them for "all"), else `classes`; returns the unittest result."""
    loader = unittest.TestLoader()
    if rest:
        suite = loader.loadTestsFromNames(rest, module)
    else:
        if parts:
            classes = [c for p in (parts if part == "all" else [part]) for c in parts[p]]
        suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in classes)
    return unittest.TextTestRunner(verbosity=2).run(suite)
