#!/usr/bin/env python3
"""Interop: every fault flag of stsauth-fake-sts has its effect, the same faults can be switched
at run time through POST /_faults, and /_stats counts what happened."""

import concurrent.futures
import http.client
import json
import ssl
import time
import unittest

import fakests_support as fs


def parse_json_error(body):
    return fs.sts_error(body)[0]


class FaultFlags(unittest.TestCase):
    """One fake per flag, started with that flag."""

    def send_valid(self, fake, **kwargs):
        return fake.send_token_url(fs.botocore_presign(), **kwargs)

    def test_throttle_rate(self):
        with fs.FakeSts("--throttle-rate", "1") as fake:
            status, headers, body = self.send_valid(fake)
            self.assertEqual(status, 400)
            self.assertEqual(headers["content-type"], "application/json")
            doc = json.loads(body)
            self.assertEqual(doc["Error"], {"Code": "Throttling", "Message": "Rate exceeded", "Type": "Sender"})
            self.assertEqual(doc["RequestId"], headers["x-amzn-requestid"])
            # The reference detects throttling by this substring.
            self.assertIn(b"Throttling", body)
            self.assertEqual(fake.stats()["by_outcome"], {"Throttling": 1})

    def test_error_rate(self):
        with fs.FakeSts("--error-rate", "1") as fake:
            status, _, body = self.send_valid(fake)
            self.assertEqual(status, 503)
            doc = json.loads(body)
            self.assertEqual(doc["Error"]["Code"], "ServiceUnavailable")
            self.assertEqual(doc["Error"]["Type"], "Receiver")

    def test_reset_rate(self):
        with fs.FakeSts("--reset-rate", "1") as fake:
            with self.assertRaises((ConnectionError, http.client.RemoteDisconnected, ssl.SSLError, OSError)):
                self.send_valid(fake)
            self.assertEqual(fake.stats()["by_outcome"], {"reset": 1})

    def test_partial_rates_mix_outcomes(self):
        with fs.FakeSts("--error-rate", "0.5", "--seed", "7") as fake:
            statuses = [self.send_valid(fake)[0] for _ in range(40)]
            self.assertTrue(5 <= statuses.count(503) <= 35, statuses)
            self.assertEqual(statuses.count(200) + statuses.count(503), 40)

    def test_latency_does_not_block_other_requests(self):
        latency = 0.6
        with fs.FakeSts("--latency-ms", str(int(latency * 1000))) as fake:
            start = time.monotonic()
            status, _, _ = self.send_valid(fake)
            self.assertEqual(status, 200)
            self.assertGreaterEqual(time.monotonic() - start, latency)

            parallel = 4
            urls = [fs.botocore_presign() for _ in range(parallel)]
            start = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
                results = list(pool.map(lambda u: fake.send_token_url(u)[0], urls))
            elapsed = time.monotonic() - start
            self.assertEqual(results, [200] * parallel)
            self.assertGreaterEqual(elapsed, latency)
            # Sequential handling would take parallel * latency = 2.4 s.
            self.assertLess(elapsed, latency * (parallel - 1), "latency must be a timer, not a sleep")

    def test_slow_body(self):
        slow = 0.8
        with fs.FakeSts("--slow-body-ms", str(int(slow * 1000))) as fake:
            url = fs.botocore_presign()
            conn = fake.connection()
            try:
                start = time.monotonic()
                headers = {"Host": fs.STS_HOST, "x-k8s-aws-id": fs.CLUSTER, "Accept": "application/json"}
                conn.request("GET", url[len("https://" + fs.STS_HOST):], headers=headers)
                resp = conn.getresponse()
                headers_at = time.monotonic() - start
                body = resp.read()
                body_at = time.monotonic() - start
            finally:
                conn.close()
            self.assertEqual(resp.status, 200)
            json.loads(body)
            self.assertLess(headers_at, slow / 2, "the status line and headers come at once")
            self.assertGreaterEqual(body_at - headers_at, slow * 0.7, "the body trickles")

    def test_oversize_body(self):
        with fs.FakeSts("--oversize-body") as fake:
            status, headers, body = self.send_valid(fake)
            self.assertEqual(status, 200)
            self.assertEqual(len(body), 64 * 1024 + 1)
            self.assertEqual(int(headers["content-length"]), len(body))
            # Still a valid answer: only its size is wrong.
            self.assertEqual(json.loads(body)["GetCallerIdentityResponse"]["GetCallerIdentityResult"]["Arn"],
                             fs.ALICE_ARN)
        with fs.FakeSts("--oversize-body=200000") as fake:
            self.assertEqual(len(self.send_valid(fake)[2]), 200000)

    def test_redirect(self):
        with fs.FakeSts("--redirect") as fake:
            status, headers, _ = self.send_valid(fake)
            self.assertEqual(status, 302)
            self.assertEqual(headers["location"], "https://redirected.invalid/")
        with fs.FakeSts("--redirect=https://evil.invalid/steal") as fake:
            status, headers, _ = self.send_valid(fake)
            self.assertEqual((status, headers["location"]), (302, "https://evil.invalid/steal"))
            self.assertEqual(fake.stats()["by_outcome"], {"redirect": 1})

    def test_xml(self):
        with fs.FakeSts("--xml") as fake:
            status, headers, body = self.send_valid(fake)
            self.assertEqual(status, 200)
            self.assertEqual(headers["content-type"], "text/xml")
            self.assertTrue(body.startswith(b"<GetCallerIdentityResponse"), body)
            status, _, body = fake.send_token_url(fs.botocore_presign(), cluster="other")
            self.assertEqual(status, 403)
            self.assertIn(b"<Code>SignatureDoesNotMatch</Code>", body)

    def test_invalid_flags_are_refused(self):
        for args in (["--throttle-rate", "1.5"], ["--error-rate", "-1"], ["--latency-ms", "x"], ["--nope"]):
            with self.subTest(args=args):
                with self.assertRaises(RuntimeError):
                    fs.FakeSts(*args, startup_timeout=10)


class RuntimeFaultsAndStats(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = fs.FakeSts()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop(check=True)

    def setUp(self):
        status, _ = self.fake.set_faults(clear=True)
        self.assertEqual(status, 200)
        self.fake.reset_stats()

    def test_flip_sts_down_and_up_without_restart(self):
        url = fs.botocore_presign()
        self.assertEqual(self.fake.send_token_url(url)[0], 200)
        status, doc = self.fake.set_faults(error_rate=1)
        self.assertEqual((status, doc["error_rate"]), (200, 1))
        self.assertEqual(self.fake.send_token_url(url)[0], 503)
        self.fake.set_faults(error_rate=0, throttle_rate=1)
        self.assertEqual(self.fake.send_token_url(url)[0], 400)
        self.fake.set_faults(clear=True)
        self.assertEqual(self.fake.send_token_url(url)[0], 200)

    def test_every_fault_can_be_set_at_run_time(self):
        url = fs.botocore_presign()
        self.fake.set_faults(xml=True)
        self.assertTrue(self.fake.send_token_url(url)[2].startswith(b"<GetCallerIdentityResponse"))
        self.fake.set_faults(xml=False, oversize_body=True)
        self.assertEqual(len(self.fake.send_token_url(url)[2]), 64 * 1024 + 1)
        self.fake.set_faults(oversize_body=False, redirect="https://elsewhere.invalid/")
        status, headers, _ = self.fake.send_token_url(url)
        self.assertEqual((status, headers["location"]), (302, "https://elsewhere.invalid/"))
        self.fake.set_faults(redirect="", reset_rate=1)
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected, ssl.SSLError, OSError)):
            self.fake.send_token_url(url)
        self.fake.set_faults(reset_rate=0, latency_ms=400)
        start = time.monotonic()
        self.assertEqual(self.fake.send_token_url(url)[0], 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.4)
        self.fake.set_faults(latency_ms=0, slow_body_ms=500)
        start = time.monotonic()
        self.assertEqual(self.fake.send_token_url(url)[0], 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.4)
        self.fake.set_faults(slow_body_ms=0, body='{"odd": true}', body_status=203)
        status, _, body = self.fake.send_token_url(url)
        self.assertEqual((status, body), (203, b'{"odd": true}'))
        # Only verified requests get the replacement: a bad signature is still refused.
        self.assertEqual(self.fake.send_token_url(url, cluster="other")[0], 403)
        self.fake.set_faults(body="", body_status=200, slow_body_ms=500)
        status, doc = self.fake.control("GET", "/_faults")
        self.assertEqual(status, 200)
        self.assertEqual(doc, {"latency_ms": 0, "throttle_rate": 0.0, "error_rate": 0.0, "reset_rate": 0.0,
                               "slow_body_ms": 500, "oversize_body": 0, "redirect": "", "xml": False, "body": "",
                               "body_status": 200})

    def test_invalid_fault_bodies_change_nothing(self):
        self.fake.set_faults(latency_ms=5)
        for payload in ({"throttle_rate": 2}, {"unknown": 1}, {"latency_ms": "soon"}, [1]):
            with self.subTest(payload=payload):
                status, doc = self.fake.control("POST", "/_faults", payload)
                self.assertEqual(status, 400)
                self.assertIn(doc["error"], ("bad_fault", "bad_json"))
        self.assertEqual(self.fake.control("GET", "/_faults")[1]["latency_ms"], 5)
        self.assertEqual(self.fake.control("DELETE", "/_faults")[0], 405)

    def test_stats_count_requests_by_action_and_outcome(self):
        url = fs.botocore_presign()
        for _ in range(2):
            self.assertEqual(self.fake.send_token_url(url)[0], 200)
        self.assertEqual(self.fake.send_token_url(url, cluster="other")[0], 403)
        self.assertEqual(self.fake.send_token_url(fs.botocore_presign(creds=("AKIDNOBODY", "x", None)))[0], 403)
        self.fake.set_faults(throttle_rate=1)
        self.assertEqual(self.fake.send_token_url(url)[0], 400)
        self.fake.set_faults(throttle_rate=0, reset_rate=1)
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected, ssl.SSLError, OSError)):
            self.fake.send_token_url(url)
        self.fake.set_faults(clear=True)
        self.fake.request("GET", "/?Version=2011-06-15", {"Host": fs.STS_HOST})

        stats = self.fake.stats()
        self.assertEqual(stats["total"], 7)
        self.assertEqual(stats["by_action"], {"GetCallerIdentity": 6, "unknown": 1})
        self.assertEqual(stats["by_outcome"], {"success": 2, "SignatureDoesNotMatch": 1, "InvalidClientTokenId": 1,
                                               "Throttling": 1, "reset": 1, "MissingAuthenticationToken": 1})
        # Control endpoints are not counted.
        self.assertEqual(self.fake.stats()["total"], 7)
        self.fake.reset_stats()
        self.assertEqual(self.fake.stats(), {"total": 0, "by_action": {}, "by_outcome": {}})

    def test_keep_alive_connection_serves_several_requests(self):
        conn = self.fake.connection()
        try:
            for _ in range(3):
                url = fs.botocore_presign()
                conn.request("GET", url[len("https://" + fs.STS_HOST):],
                             headers={"Host": fs.STS_HOST, "x-k8s-aws-id": fs.CLUSTER, "Accept": "application/json"})
                resp = conn.getresponse()
                self.assertEqual(resp.status, 200)
                resp.read()
        finally:
            conn.close()
        self.assertEqual(self.fake.stats()["by_outcome"], {"success": 3})


if __name__ == "__main__":
    fs.main()
