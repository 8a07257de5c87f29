#!/usr/bin/env python3
"""End-to-end suite of `stsauth server`: the real binary over real TLS on loopback, against
stsauth-fake-sts (which verifies SigV4 for real), with tokens from three independent signers.

Usage (CTest runs one part per entry):
  test_server.py --stsauth BIN --fake BIN --credentials YAML --source-dir DIR [--aws BIN]
                 [--part reviews|faults|reload|all] [unittest args, e.g. a test name]

Every reply is compared whole (parsed JSON dicts) with the HTTP status; every token refused
locally is also checked not to have reached the fake (`/_stats`). Specs: SPEC-decisions A2–A5,
A7, A8, A10; SPEC-reference §1.7, §3.3, §5, §6, §10.5.
"""

import base64
import datetime
import http.client
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (ADMIN_ARN, BOB_ARN, DEPLOYER_ARN, MALLORY_ARN, REGION, V1, V1BETA1, FakeCert,  # noqa: E402
                     FakeSts, Server, expected_authenticated, expected_denied, metric, presign, token_to_url,
                     url_to_token, wait_until, write_atomically)

NODE_ARN = "arn:aws:sts::111122223333:assumed-role/KubernetesNode/i-0123456789abcdef0"
GHOST_NODE_ARN = "arn:aws:sts::111122223333:assumed-role/KubernetesNode/i-0aaaaaaaaaaaaaaaa"

LATENCY = "aws_iam_authenticator_authenticate_latency_seconds"
STS_RESPONSES = "aws_iam_authenticator_sts_responses_total"

WORKDIR = None
CERT = None
CREDS = None
INSTANCES = None


def setUpModule():
    global WORKDIR, CERT, CREDS, INSTANCES
    WORKDIR = tempfile.mkdtemp(prefix="stsauth-integ-")
    CERT = FakeCert(WORKDIR)
    CREDS, INSTANCES = harness.load_credentials(harness.ARGS.credentials)


def tearDownModule():
    if harness.ARGS.keep:
        print(f"\nkept {WORKDIR}", file=sys.stderr)
    else:
        shutil.rmtree(WORKDIR, ignore_errors=True)


def server_config(health_port, admin_username="admin:{{SessionName}}", admin_groups=("system:masters",),
                  extra_server=""):
    """The MountedFile config the tests write: one role, one user, one account, a node role."""
    groups = ", ".join(json.dumps(g) for g in admin_groups)
    head = harness.config_head("tests/integration/server/test_server.py", health_port)
    return head + f"""  mapRoles:
  - rolearn: arn:aws:iam::111122223333:role/Admin
    username: "{admin_username}"
    groups: [{groups}]
  - rolearn: arn:aws:iam::111122223333:role/KubernetesNode
    username: "system:node:{{{{EC2PrivateDNSName}}}}"
    groups: [system:nodes, system:bootstrappers]
  mapUsers:
  - userarn: {BOB_ARN}
    username: bob
    groups: [developers, "acct-{{{{AccountID}}}}"]
  mapAccounts: ["444455556666"]
{extra_server}"""


class ServerTestCase(harness.FakeAndServerCase):
    """One fake and one server for the class (harness.FakeAndServerCase), with server_config()."""

    @classmethod
    def fixture(cls):
        return CERT, WORKDIR

    @classmethod
    def server_config(cls, health_port):
        return server_config(health_port)

    def cred(self, arn):
        return CREDS[arn]

    def assert_reply(self, resp, status, body):
        self.assertEqual(resp.status, status, resp)
        self.assertEqual(resp.headers.get("content-type", "").split(";")[0], "application/json", resp)
        self.assertEqual(resp.json(), body)

    def assert_sts_requests(self, total, by_outcome=None):
        stats = self.fake.stats()
        self.assertEqual(stats["total"], total, stats)
        if by_outcome is not None:
            self.assertEqual(stats["by_outcome"], by_outcome, stats)


class ReviewTests(ServerTestCase):
    """Mapping, signers, local and STS rejections, the identity cache, endpoints, metrics, logs."""

    def test_role_session_mapped_in_both_versions(self):
        alice = self.cred(ADMIN_ARN)
        for version in (V1, V1BETA1):
            with self.subTest(version=version):
                resp = self.server.review(presign(alice), version)
                self.assert_reply(resp, 200, expected_authenticated(alice, "admin:alice", ["system:masters"], version))
        self.assert_sts_requests(2, {"success": 2})

    def test_apiserver_query_string_is_ignored(self):
        # kube-apiserver POSTs to /authenticate?timeout=30s (A4).
        alice = self.cred(ADMIN_ARN)
        resp = self.server.review(presign(alice), V1, path="/authenticate?timeout=30s")
        self.assert_reply(resp, 200, expected_authenticated(alice, "admin:alice", ["system:masters"]))

    def test_user_mapped(self):
        bob = self.cred(BOB_ARN)
        resp = self.server.review(presign(bob), V1BETA1)
        self.assert_reply(resp, 200,
                          expected_authenticated(bob, "bob", ["developers", "acct-111122223333"], V1BETA1))
        self.assert_sts_requests(1, {"success": 1})

    def test_account_mapped_username_is_canonical_arn_without_groups(self):
        deployer = self.cred(DEPLOYER_ARN)
        resp = self.server.review(presign(deployer))
        self.assert_reply(resp, 200,
                          expected_authenticated(deployer, "arn:aws:iam::444455556666:role/Deployer", []))
        self.assertNotIn("groups", resp.json()["status"]["user"])
        self.assert_sts_requests(1, {"success": 1})

    def test_unmapped_principal_is_denied_with_reason(self):
        mallory = self.cred(MALLORY_ARN)
        for version in (V1, V1BETA1):
            with self.subTest(version=version):
                resp = self.server.review(presign(mallory), version)
                self.assert_reply(resp, 200, expected_denied("not_mapped", version))
        self.assert_sts_requests(2, {"success": 2})  # STS vouched for mallory; the mapping said no

    # ---- three independent signers ----------------------------------------------------------

    def test_signer_stsauth_token(self):
        # Not alice: `aws eks get-token` signs alice's key with the real clock too, and two
        # signers at the same second give the same token (then the cache would answer).
        for arn, username, groups in ((BOB_ARN, "bob", ["developers", "acct-111122223333"]),
                                      (DEPLOYER_ARN, "arn:aws:iam::444455556666:role/Deployer", [])):
            with self.subTest(principal=arn):
                cred = self.cred(arn)
                token = harness.stsauth_token(cred)
                self.assertTrue(token.startswith("k8s-aws-v1."), token[:20])
                self.assert_reply(self.server.review(token), 200, expected_authenticated(cred, username, groups))
        self.assert_sts_requests(2, {"success": 2})

    def test_signer_aws_eks_get_token(self):
        alice = self.cred(ADMIN_ARN)
        token = harness.aws_eks_get_token(alice)
        self.assert_reply(self.server.review(token), 200,
                          expected_authenticated(alice, "admin:alice", ["system:masters"]))
        self.assert_sts_requests(1, {"success": 1})

    def test_signer_botocore(self):
        alice = self.cred(ADMIN_ARN)
        token = harness.botocore_presign_script(alice)
        self.assert_reply(self.server.review(token, V1BETA1), 200,
                          expected_authenticated(alice, "admin:alice", ["system:masters"], V1BETA1))
        self.assert_sts_requests(1, {"success": 1})

    # ---- rejections -------------------------------------------------------------------------

    def test_token_for_another_cluster_is_refused_by_sts(self):
        # The signature covers x-k8s-aws-id; the server sends its own cluster id, so STS
        # (the fake, verifying for real) answers SignatureDoesNotMatch.
        resp = self.server.review(presign(self.cred(ADMIN_ARN), cluster="another-cluster"))
        self.assert_reply(resp, 200, expected_denied("sts_rejected"))
        self.assert_sts_requests(1, {"SignatureDoesNotMatch": 1})

    def test_expired_token_is_refused_locally(self):
        when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=16)
        resp = self.server.review(presign(self.cred(ADMIN_ARN), when=when))
        self.assert_reply(resp, 200, expected_denied("expired"))
        self.assert_sts_requests(0)

    def test_token_from_the_future_is_refused_locally(self):
        when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=20)
        resp = self.server.review(presign(self.cred(ADMIN_ARN), when=when))
        self.assert_reply(resp, 200, expected_denied("date_in_future"))
        self.assert_sts_requests(0)

    def test_garbage_tokens_are_refused_locally(self):
        good_url = token_to_url(presign(self.cred(ADMIN_ARN)))
        evil_url = good_url.replace(f"https://sts.{REGION}.amazonaws.com/", "https://sts.evil.example.com/", 1)
        cases = [
            ("", "bad_prefix"),
            ("hello", "bad_prefix"),
            ("Bearer k8s-aws-v1.aGVsbG8", "bad_prefix"),
            ("k8s-aws-v2." + url_to_token(good_url)[len("k8s-aws-v1."):], "bad_prefix"),
            ("k8s-aws-v1.", "bad_scheme"),
            ("k8s-aws-v1.!!!!", "bad_base64"),
            (url_to_token(good_url) + "=", "bad_base64"),  # padding
            (url_to_token(good_url)[:40] + "+/" + url_to_token(good_url)[42:], "bad_base64"),  # standard alphabet
            (url_to_token(evil_url), "bad_host"),
            (url_to_token(good_url + "&X-Amz-Signature=" + "0" * 64), "multiple_values"),
            (url_to_token(good_url.replace("Action=GetCallerIdentity", "Action=AssumeRole")), "bad_action"),
        ]
        for token, reason in cases:
            with self.subTest(reason=reason, token=token[:24]):
                self.assert_reply(self.server.review(token), 200, expected_denied(reason))
        self.assert_sts_requests(0)

    # ---- verified-identity cache (A6) -------------------------------------------------------

    def test_same_token_twice_is_one_sts_request(self):
        alice = self.cred(ADMIN_ARN)
        token = presign(alice)
        before = self.server.metrics()
        expected = expected_authenticated(alice, "admin:alice", ["system:masters"])
        self.assert_reply(self.server.review(token), 200, expected)
        self.assert_reply(self.server.review(token), 200, expected)
        self.assert_sts_requests(1, {"success": 1})
        after = self.server.metrics()
        self.assertEqual(metric(after, "stsauth_cache_hits_total") - metric(before, "stsauth_cache_hits_total"), 1)
        self.assertEqual(metric(after, "stsauth_cache_misses_total") - metric(before, "stsauth_cache_misses_total"), 1)

    def test_sts_refusal_is_cached_too(self):
        token = presign(self.cred(ADMIN_ARN), cluster="another-cluster")
        for _ in range(2):
            self.assert_reply(self.server.review(token), 200, expected_denied("sts_rejected"))
        self.assert_sts_requests(1, {"SignatureDoesNotMatch": 1})

    # ---- routes -----------------------------------------------------------------------------

    def test_health_routes(self):
        for path in ("/healthz", "/livez", "/readyz"):
            with self.subTest(listener="main", path=path):
                resp = self.server.request("GET", path)
                self.assertEqual((resp.status, resp.body), (200, b"ok"), resp)
            with self.subTest(listener="health", path=path):
                resp = self.server.health(path)
                self.assertEqual((resp.status, resp.body), (200, b"ok"), resp)
        self.assertEqual(self.server.health_port, self.health_port)

    def test_unknown_path_is_404(self):
        for path in ("/", "/authenticate/", "/metricsx", "/v1/authenticate"):
            with self.subTest(path=path):
                resp = self.server.request("GET", path)
                self.assertEqual(resp.status, 404, resp)
                self.assertEqual(resp.body, b"404 page not found\n")

    def test_malformed_requests(self):
        before = self.server.metrics()
        resp = self.server.request("GET", "/authenticate")
        self.assertEqual((resp.status, resp.body), (405, b"expected POST\n"), resp)
        self.assertEqual(resp.headers["content-type"], "text/plain; charset=utf-8")
        self.assertEqual(resp.headers["x-content-type-options"], "nosniff")

        resp = self.server.request("POST", "/authenticate", b"", {"Content-Type": "application/json"})
        self.assertEqual(resp.status, 400, resp)
        self.assertTrue(resp.body.startswith(b"expected a request body") and resp.body.endswith(b"\n"), resp)

        bodies = [
            b"not valid json",
            b'{"apiVersion":"v1","kind":"Pod","spec":{"token":"x"}}',
            b'{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":42}}',
            b'{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"a"}} {}',
            b'[]',
        ]
        for body in bodies:
            with self.subTest(body=body):
                resp = self.server.request("POST", "/authenticate", body, {"Content-Type": "application/json"})
                self.assertEqual(resp.status, 400, resp)
                self.assertEqual(resp.headers["content-type"], "text/plain; charset=utf-8")
                self.assertTrue(resp.body.startswith(b"expected a request body to be a TokenReview"), resp)
                self.assertTrue(resp.body.endswith(b"\n"), resp)
        after = self.server.metrics()
        self.assertEqual(metric(after, LATENCY + "_count", result="malformed_request")
                         - metric(before, LATENCY + "_count", result="malformed_request"), 2 + len(bodies))
        self.assert_sts_requests(0)

    # ---- metrics ----------------------------------------------------------------------------

    def test_reference_metrics_after_reviews(self):
        before = self.server.metrics()
        old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=30)
        self.assertEqual(self.server.review(presign(self.cred(ADMIN_ARN))).status, 200)
        self.assertEqual(self.server.review(presign(self.cred(BOB_ARN))).status, 200)
        self.assertEqual(self.server.review(presign(self.cred(ADMIN_ARN), when=old)).status, 200)
        self.assertEqual(self.server.review(presign(self.cred(MALLORY_ARN))).status, 200)
        self.assertEqual(self.server.review(presign(self.cred(ADMIN_ARN), cluster="x")).status, 200)
        self.assertEqual(self.server.request("GET", "/authenticate").status, 405)
        resp = self.server.request("GET", "/metrics")
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.headers["content-type"].startswith("text/plain; version=0.0.4"), resp.headers)
        after = harness.parse_metrics(resp.text)

        def delta(name, **labels):
            return metric(after, name, **labels) - metric(before, name, **labels)

        expected_counts = {"success": 2, "invalid_token": 1, "uknown_user": 1, "sts_error": 1,
                           "malformed_request": 1, "sts_throttling": 0}
        for result, count in expected_counts.items():
            with self.subTest(result=result):
                self.assertEqual(delta(LATENCY + "_count", result=result), count)
        # The reference's default buckets, for one of the series.
        buckets = {dict(labels)["le"] for (name, labels) in after
                   if name == LATENCY + "_bucket" and dict(labels).get("result") == "success"}
        self.assertEqual({float(b) for b in buckets},
                         {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf")})
        self.assertEqual(delta(STS_RESPONSES, ResponseCode="200", StsRegion=REGION), 3)
        self.assertEqual(delta(STS_RESPONSES, ResponseCode="403", StsRegion=REGION), 1)
        self.assertIn(f"# TYPE {LATENCY} histogram", resp.text)
        self.assertIn(f"# TYPE {STS_RESPONSES} counter", resp.text)
        self.assert_sts_requests(4)

    # ---- logs (A8): runs last in this class on purpose (unittest sorts names) ---------------

    def test_zz_logs_hold_no_secret(self):
        # Make sure every kind of review happened at least once in this server's life.
        self.server.review(presign(self.cred(ADMIN_ARN)))
        self.server.review(presign(self.cred(DEPLOYER_ARN), cluster="elsewhere"))
        self.server.review(presign(self.cred(NODE_ARN)))
        log = self.server.log()
        self.assertIn("review outcome=authenticated", log)

        secrets = []
        for cred in CREDS.values():
            secrets.append(("secret key of " + cred.arn, cred.secret_access_key))
            if cred.session_token:
                secrets.append(("session token of " + cred.arn, cred.session_token))
                secrets.append(("encoded session token of " + cred.arn,
                                urllib.parse.quote(cred.session_token, safe="-_.~")))
        for token in self.server.tokens_sent:
            if len(token) < 100:
                continue  # the hand-made garbage tokens of test_garbage_tokens_are_refused_locally
            payload = token[len("k8s-aws-v1."):]
            secrets.append(("token", payload))
            try:
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(token_to_url(token)).query))
            except ValueError:  # a deliberately broken token (bad base64 or bytes)
                continue
            if "X-Amz-Signature" in query:
                secrets.append(("signature", query["X-Amz-Signature"]))
        checked = 0
        for what, value in secrets:
            for i in range(0, max(1, len(value) - 15)):
                piece = value[i:i + 16]
                checked += 1
                if piece in log:
                    at = log.index(piece)
                    self.fail(f"the server log holds 16 characters of a {what}: "
                              f"...{log[max(0, at - 80):at + 96]!r}...")
        self.assertGreater(checked, 1000)


class StsFailureTests(ServerTestCase):
    """STS throttled, failing, down and back; the server is never restarted."""

    verbosity = "info"

    def test_throttled_sts_gives_429(self):
        self.fake.set_faults(throttle_rate=1)
        before = self.server.metrics()
        for version in (V1, V1BETA1):
            with self.subTest(version=version):
                resp = self.server.review(presign(self.cred(ADMIN_ARN)), version)
                self.assert_reply(resp, 429, expected_denied("sts_throttled", version))
        self.assert_sts_requests(2, {"Throttling": 2})
        after = self.server.metrics()
        self.assertEqual(metric(after, LATENCY + "_count", result="sts_throttling")
                         - metric(before, LATENCY + "_count", result="sts_throttling"), 2)
        self.assertEqual(metric(after, "aws_iam_authenticator_sts_throttling_total", StsRegion=REGION)
                         - metric(before, "aws_iam_authenticator_sts_throttling_total", StsRegion=REGION), 2)

    def test_throttling_is_not_cached(self):
        token = presign(self.cred(ADMIN_ARN))
        self.fake.set_faults(throttle_rate=1)
        self.assert_reply(self.server.review(token), 429, expected_denied("sts_throttled"))
        self.fake.clear_faults()
        self.assert_reply(self.server.review(token), 200,
                          expected_authenticated(self.cred(ADMIN_ARN), "admin:alice", ["system:masters"]))
        self.assert_sts_requests(2, {"Throttling": 1, "success": 1})

    def test_sts_5xx_gives_503_with_retry_after(self):
        self.fake.set_faults(error_rate=1)
        resp = self.server.review(presign(self.cred(BOB_ARN)))
        self.assert_reply(resp, 503, expected_denied("sts_server_error"))
        self.assertEqual(resp.headers.get("retry-after"), "1")
        self.assert_sts_requests(1, {"ServiceUnavailable": 1})

    def test_sts_down_gives_503_then_recovers_without_restart(self):
        alice = self.cred(ADMIN_ARN)
        token = presign(alice)
        before = self.server.metrics()
        self.fake.stop()
        resp = self.server.review(token)
        self.assert_reply(resp, 503, expected_denied("sts_connect_failed"))
        self.assertEqual(resp.headers.get("retry-after"), "1")
        after = self.server.metrics()
        self.assertEqual(metric(after, "aws_iam_authenticator_sts_connection_failures_total", StsRegion=REGION)
                         - metric(before, "aws_iam_authenticator_sts_connection_failures_total", StsRegion=REGION), 1)
        self.assertEqual(self.server.health("/readyz").status, 200)  # readiness is not tied to STS (A7)

        self.fake.start()  # same port, same certificate
        # The transport failure was not cached: the same token now succeeds.
        self.assert_reply(self.server.review(token), 200,
                          expected_authenticated(alice, "admin:alice", ["system:masters"]))
        self.assert_sts_requests(1, {"success": 1})


class DrainTests(unittest.TestCase):
    """SIGTERM: stop accepting, /readyz 503 while a review is in flight, answer it, exit 0."""

    def test_sigterm_drains_in_flight_review_and_exits_0(self):
        fake = FakeSts(CERT, WORKDIR).start()
        server = None
        worker = None
        try:
            server = Server(WORKDIR, server_config(harness.free_port()), fake=fake, verbosity="info").start()
            alice = CREDS[ADMIN_ARN]
            fake.set_faults(latency_ms=2500)
            results = []
            worker = threading.Thread(target=lambda: results.append(server.review(presign(alice))))
            worker.start()

            def in_flight():
                page = harness.parse_metrics(server.health("/metrics").text)
                return metric(page, "stsauth_reviews_in_flight") == 1

            wait_until(in_flight, 5, what="the review to be in flight")
            server.signal(signal.SIGTERM)
            wait_until(lambda: server.health("/readyz").status == 503, 2, what="/readyz 503 while draining")
            resp = server.health("/readyz")
            self.assertEqual((resp.status, resp.body), (503, b"draining"))
            with self.assertRaises(OSError):  # the main listener no longer accepts
                server.request("GET", "/healthz", timeout=2)

            worker.join(timeout=15)
            self.assertFalse(worker.is_alive())
            self.assertEqual(len(results), 1)
            self.assertEqual(results[0].status, 200, results[0])
            self.assertEqual(results[0].json(), expected_authenticated(alice, "admin:alice", ["system:masters"]))
            self.assertEqual(server.wait_exit(10), 0, server.log()[-3000:])
            self.assertIn("drained; exiting", server.log())
            server.stop_and_check()
        finally:
            if worker is not None:
                worker.join(timeout=15)
            if server is not None:
                server.stop()
            fake.stop()


class ReloadTests(unittest.TestCase):
    """MountedFile hot reload (A5): atomic rename under load, broken files, SIGHUP."""

    def setUp(self):
        self.fake = FakeSts(CERT, WORKDIR).start()
        self.addCleanup(self.fake.stop)
        self.health_port = harness.free_port()
        self.server = Server(WORKDIR, server_config(self.health_port), fake=self.fake, verbosity="info").start()
        self.addCleanup(self.server.stop_and_check)
        self.alice = CREDS[ADMIN_ARN]

    def rewrite(self, **kwargs):
        write_atomically(self.server.config_path, server_config(self.health_port, **kwargs))

    def username_now(self, token):
        resp = self.server.review(token)
        self.assertEqual(resp.status, 200, resp)
        return resp.json()["status"]["user"]["username"]

    def reload_count(self, result):
        return metric(self.server.metrics(), "stsauth_config_reload_total", source="MountedFile", result=result)

    def test_mapping_reload_while_reviews_flow(self):
        token = presign(self.alice)
        results = []
        stop = threading.Event()

        def hammer():
            conn = None
            for _ in range(30000):  # bounded (about 20 s at this machine's pace); stopped far earlier
                if stop.is_set():
                    break
                try:
                    conn = conn or self.server.connection()
                    resp = self.server.review(token, conn=conn)
                    results.append((resp.status, resp.body))
                except (OSError, http.client.HTTPException) as e:  # a failed review: counted, reconnect
                    results.append((None, repr(e).encode()))
                    conn = None
            if conn:
                conn.close()

        worker = threading.Thread(target=hammer)
        worker.start()
        try:
            wait_until(lambda: len(results) >= 20, 10, what="reviews to flow")
            self.rewrite(admin_username="ops:{{SessionName}}", admin_groups=("ops",))
            changed_at = time.monotonic()

            def new_mapping_seen():
                if not worker.is_alive():
                    raise AssertionError(f"the review thread stopped early after {len(results)} reviews")
                return any(b'"ops:alice"' in body for _, body in results[-5:])

            wait_until(new_mapping_seen, 3, what="the new mapping to be served")
            latency = time.monotonic() - changed_at
            seen = len(results)
            wait_until(lambda: len(results) >= seen + 20, 10, what="more reviews after the reload")
        finally:
            stop.set()
            worker.join(timeout=20)
        self.assertFalse(worker.is_alive())
        self.assertLess(latency, 2.5, "the server polls files every second")

        old = expected_authenticated(self.alice, "admin:alice", ["system:masters"])
        new = expected_authenticated(self.alice, "ops:alice", ["ops"])
        replies = []
        for status, body in results:
            self.assertEqual(status, 200, body)
            reply = json.loads(body)
            self.assertIn(reply, (old, new))
            replies.append(reply == new)
        first_new = replies.index(True)
        self.assertTrue(all(replies[first_new:]), "a review went back to the old mapping after the reload")
        self.assertGreater(first_new, 0)
        # The identity cache holds STS's answer (one STS request in all); the mapping it reused
        # between reviews belonged to the old mapping chain and was redone after the reload.
        self.assertEqual(self.fake.stats()["total"], 1)

    def test_broken_config_keeps_last_good_mapping(self):
        token = presign(self.alice)
        self.assertEqual(self.username_now(token), "admin:alice")
        self.rewrite(admin_username="ops:{{SessionName}}")
        wait_until(lambda: self.username_now(token) == "ops:alice", 3, what="the new mapping")
        invalid_before = self.reload_count("invalid")

        broken = [
            ("YAML syntax", "clusterID: integ\nserver:\n  mapRoles:\n  - rolearn: [unclosed\n"),
            ("invalid entry", server_config(self.health_port).replace(
                "rolearn: arn:aws:iam::111122223333:role/Admin", "rolearn: not-an-arn")),
        ]
        for n, (what, text) in enumerate(broken, start=1):
            with self.subTest(broken=what):
                write_atomically(self.server.config_path, text)
                wait_until(lambda: self.reload_count("invalid") >= invalid_before + n, 3,
                           what=f"the {what} file to be refused")
                self.assertEqual(self.username_now(token), "ops:alice")

                def refusals():  # the log is written in batches: the line may follow the metric
                    return [line for line in self.server.log().splitlines()
                            if "mappings not reloaded, keeping the last good ones backend=MountedFile" in line]
                wait_until(lambda: len(refusals()) >= n, 5, what=f"the log line refusing the {what} file")
                lines = refusals()
                self.assertEqual(len(lines), n, lines)
                self.assertRegex(lines[-1], r"error=\S+", "the log says why")
        self.assertEqual(self.server.health("/readyz").status, 200)

    def test_sighup_reloads(self):
        token = presign(self.alice)
        self.assertEqual(self.username_now(token), "admin:alice")
        success = self.reload_count("success")
        time.sleep(1.3)  # more than one poll period: an unchanged file is not reloaded by the poller
        self.assertEqual(self.reload_count("success"), success)
        self.server.signal(signal.SIGHUP)
        wait_until(lambda: self.reload_count("success") == success + 1, 2, what="the SIGHUP reload")
        self.server.wait_logged("SIGHUP: reloading mappings")

        # A broken file and SIGHUP: still the last good mapping, and the reason logged.
        write_atomically(self.server.config_path, "server: [1, 2\n")
        self.server.signal(signal.SIGHUP)
        wait_until(lambda: "mappings not reloaded, keeping the last good ones backend=MountedFile" in self.server.log(),
                   3, what="the refusal of the broken file")
        self.assertEqual(self.username_now(token), "admin:alice")

        # A good file and SIGHUP.
        self.rewrite(admin_username="hup:{{SessionName}}")
        self.server.signal(signal.SIGHUP)
        wait_until(lambda: self.username_now(token) == "hup:alice", 2, what="the mapping after SIGHUP")
        self.assertIsNone(self.server.proc.poll(), "SIGHUP must not stop the server")


class BackendModeFileTests(unittest.TestCase):
    """server.dynamicBackendModePath (part B §5.5): the file switches which backend answers."""

    def test_switching_the_mode_file_changes_which_backend_answers(self):
        fake = FakeSts(CERT, WORKDIR).start()
        self.addCleanup(fake.stop)
        workdir = tempfile.mkdtemp(prefix="backend-mode-", dir=WORKDIR)
        aws_auth = os.path.join(workdir, "aws-auth.yaml")
        write_atomically(aws_auth, "kind: ConfigMap\ndata:\n  mapRoles: |\n"
                                   "    - rolearn: arn:aws:iam::111122223333:role/Admin\n"
                                   "      username: \"cm:{{SessionName}}\"\n      groups: [cm]\n")
        mode_path = os.path.join(workdir, "backend-mode.json")
        extra = f"  awsAuthFile: {aws_auth}\n  dynamicBackendModePath: {mode_path}\n"
        health_port = harness.free_port()
        server = Server(WORKDIR, server_config(health_port, extra_server=extra), fake=fake, verbosity="info").start()
        self.addCleanup(server.stop_and_check)
        alice = CREDS[ADMIN_ARN]
        token = presign(alice)

        def reply():
            resp = server.review(token)
            self.assertEqual(resp.status, 200, resp)
            return resp.json()

        def gauge(name):
            return metric(server.metrics(), "aws_iam_authenticator_" + name)

        self.assertEqual(reply(), expected_authenticated(alice, "admin:alice", ["system:masters"]))
        self.assertEqual((gauge("dynamic_file_enabled"), gauge("dynamic_file_only")), (0, 0))

        now = int(time.time())
        write_atomically(mode_path, json.dumps({"LastUpdatedDateTime": str(now), "Version": "1",
                                                "backendMode": "EKSConfigMap MountedFile"}))
        cm = expected_authenticated(alice, "cm:alice", ["cm"])
        wait_until(lambda: reply() == cm, 5, what="the EKSConfigMap backend to answer")
        server.wait_logged("backend mode file loaded: backend chain EKSConfigMap MountedFile (was MountedFile)")

        # A mode stsauth cannot build is refused; the chain stays.
        write_atomically(mode_path, json.dumps({"LastUpdatedDateTime": str(now), "backendMode": "CRD"}))
        wait_until(lambda: metric(server.metrics(), "stsauth_config_reload_total", source="dynamic_backend_mode",
                                  result="rejected") == 1, 5, what="the refusal of CRD")
        self.assertEqual(reply(), cm)
        samples = server.metrics()
        self.assertEqual(metric(samples, "aws_iam_authenticator_dynamic_e2e_latency_seconds_count",
                                type="dynamic_backend_mode"), 1)  # the second load of the file

        # Deleted: back to --backend-mode.
        os.unlink(mode_path)
        admin = expected_authenticated(alice, "admin:alice", ["system:masters"])
        wait_until(lambda: reply() == admin, 5, what="MountedFile to answer again")
        self.assertEqual(fake.stats()["total"], 1, "the identity cache holds STS's answer across switches")


class StartupTests(unittest.TestCase):
    """The generated webhook kubeconfig; the reference's example config."""

    def test_webhook_kubeconfig(self):
        fake = FakeSts(CERT, WORKDIR).start()
        self.addCleanup(fake.stop)
        server = Server(WORKDIR, server_config(harness.free_port()), fake=fake, verbosity="info").start()
        self.addCleanup(server.stop_and_check)
        with open(os.path.join(server.state_dir, "cert.pem"), "rb") as f:
            cert_pem = f.read()
        with open(server.kubeconfig, "rb") as f:
            text = f.read()
        ca_data = base64.b64encode(cert_pem).decode()
        expected = (
            "\n"
            "clusters:\n"
            "  - name: aws-iam-authenticator\n"
            "    cluster:\n"
            f"      certificate-authority-data: {ca_data}\n"
            f"      server: https://localhost:{server.port}/authenticate\n"
            "# user refers to the API server client\n"
            "users:\n"
            "  - name: apiserver\n"
            "current-context: webhook\n"
            "contexts:\n"
            "- name: webhook\n"
            "  context:\n"
            "    cluster: aws-iam-authenticator\n"
            "    user: apiserver\n")
        self.assertEqual(text.decode(), expected)

        doc = harness.yaml.safe_load(text)
        self.assertEqual(doc, {
            "clusters": [{"name": "aws-iam-authenticator",
                          "cluster": {"certificate-authority-data": ca_data,
                                      "server": f"https://localhost:{server.port}/authenticate"}}],
            "users": [{"name": "apiserver"}],
            "current-context": "webhook",
            "contexts": [{"name": "webhook", "context": {"cluster": "aws-iam-authenticator", "user": "apiserver"}}],
        })
        # What the apiserver does with it: trust that CA, call that URL.
        url = urllib.parse.urlsplit(doc["clusters"][0]["cluster"]["server"])
        ca_file = os.path.join(server.dir, "ca-from-kubeconfig.pem")
        with open(ca_file, "wb") as f:
            f.write(base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"]))
        context = harness.ssl.create_default_context(cafile=ca_file)
        conn = harness.PinnedHTTPSConnection(url.hostname, url.port, context)
        try:
            conn.request("POST", url.path, body=json.dumps(
                {"apiVersion": V1, "kind": "TokenReview", "spec": {"token": presign(CREDS[BOB_ARN])}}))
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertEqual(json.loads(resp.read()),
                             expected_authenticated(CREDS[BOB_ARN], "bob", ["developers", "acct-111122223333"]))
        finally:
            conn.close()

    def test_reference_example_config_starts_unchanged(self):
        # config/example-reference.yaml (SPEC-reference §6.6) as is: only --port, --state-dir and
        # --generate-kubeconfig point it at temporary paths. Its health port is the reference's
        # fixed 21363 on all interfaces, so it needs that port.
        path = os.path.join(harness.ARGS.source_dir, "config", "example-reference.yaml")
        if not harness.port_is_free(21363):
            self.skipTest("port 21363 (the example's health port) is in use on this machine")
        server = Server(WORKDIR, config_path=path, verbosity=None, standard_flags=False)
        self.addCleanup(server.stop_and_check)
        try:
            server.start()
        except RuntimeError as e:
            self.fail(f"the reference's example config does not start: {e}")
        self.assertEqual(server.health_port, 21363)
        self.assertEqual((server.health("/healthz").status, server.health("/healthz").body), (200, b"ok"))
        self.assertEqual(server.request("GET", "/readyz").status, 200)
        log = server.log()
        warnings = [line for line in log.splitlines() if "unknown key" in line]
        self.assertEqual(warnings, [], "every key of the reference's example is known")
        # ec2DescribeInstancesRoleARN does not stop the start; without a region (no IMDS at
        # start-up, by design) the EC2 lookups are off and the log says so.
        self.assertIn("EC2 lookups for {{EC2PrivateDNSName}} are off: set server.ec2.region or AWS_REGION", log)
        with open(server.kubeconfig, encoding="utf-8") as f:
            self.assertIn(f"server: https://localhost:{server.port}/authenticate\n", f.read())
        # A token refused locally needs no STS (no network here).
        old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
        resp = server.review(presign(CREDS[BOB_ARN], cluster="my-dev-cluster.example.com", when=old))
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.json(), expected_denied("expired"))
        self.assertEqual(server.stop(), 0)


class Ec2NodeTests(unittest.TestCase):
    """`system:node:{{EC2PrivateDNSName}}` end to end: the fake answers DescribeInstances, signed
    with the server's own credentials (bob's key, from its environment), reached through the
    `server.ec2` keys (region, connectOverride, caFile)."""

    def test_node_role_gets_private_dns_name(self):
        fake = FakeSts(CERT, WORKDIR).start()
        self.addCleanup(fake.stop)
        ec2 = (f"  ec2:\n    region: {REGION}\n    connectOverride: 127.0.0.1:{fake.port}\n"
               f"    caFile: {CERT.cert}\n")
        server = Server(WORKDIR, server_config(harness.free_port(), extra_server=ec2), fake=fake,
                        verbosity="info", env=CREDS[BOB_ARN].env()).start()
        self.addCleanup(server.stop_and_check)
        node = CREDS[NODE_ARN]
        resp = server.review(presign(node))
        if "EC2 lookups for {{EC2PrivateDNSName}}" not in server.log():
            # A server without EC2 wiring says nothing about EC2 and denies node templates.
            self.assertEqual(resp.json(), expected_denied("ec2_unavailable"))
            self.skipTest("EC2 resolver not wired (no EC2 line in the server log; reply ec2_unavailable)")
        dns = INSTANCES["i-0123456789abcdef0"]
        expected = expected_authenticated(node, f"system:node:{dns}", ["system:nodes", "system:bootstrappers"])
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json(), expected, server.log()[-3000:])
        stats = fake.stats()
        self.assertEqual(stats["by_action"], {"GetCallerIdentity": 1, "DescribeInstances": 1}, stats)
        self.assertEqual(stats["by_outcome"], {"success": 2}, stats)

        # Another review of the same node (a new token) is answered from the resolver's cache.
        self.assert_reply_equal(server.review(presign(node)), expected)
        self.assertEqual(fake.stats()["by_action"].get("DescribeInstances"), 1)
        self.assertEqual(metric(server.metrics(), "aws_iam_authenticator_ec2_describe_instances_calls_total"), 1)

        # An instance EC2 does not know: denied (never `system:node:`), and STS was asked first.
        fake.reset_stats()
        ghost = CREDS[GHOST_NODE_ARN]
        self.assert_reply_equal(server.review(presign(ghost)), expected_denied("ec2_instance_not_found"))
        stats = fake.stats()
        self.assertEqual(stats["by_action"], {"GetCallerIdentity": 1, "DescribeInstances": 1}, stats)
        self.assertEqual(stats["by_outcome"], {"success": 1, "InvalidInstanceID.NotFound": 1}, stats)

    def assert_reply_equal(self, resp, body):
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json(), body)


PARTS = {
    "reviews": [ReviewTests],
    "faults": [StsFailureTests, DrainTests],
    "reload": [ReloadTests, BackendModeFileTests, StartupTests, Ec2NodeTests],
}


def main():
    args, rest = harness.parse_args(__doc__.splitlines()[0], PARTS)
    result = harness.run_tests(sys.modules[__name__], PARTS, args.part, rest)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
