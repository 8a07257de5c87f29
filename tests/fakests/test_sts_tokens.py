#!/usr/bin/env python3
"""Interop: tokens from independent signers (awscli `aws eks get-token`, botocore) verify at
stsauth-fake-sts, and every single change to them is refused with STS's status and code."""

import datetime
import json
import re
import socket
import ssl
import string
import time
import unittest
import urllib.parse

import fakests_support as fs


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


class TokenInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = fs.FakeSts()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop(check=True)

    def assert_identity(self, status, headers, body, arn=fs.ALICE_ARN):
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["content-type"], "application/json")
        doc = json.loads(body)
        self.assertEqual(list(doc), ["GetCallerIdentityResponse"])
        response = doc["GetCallerIdentityResponse"]
        self.assertEqual(list(response), ["GetCallerIdentityResult", "ResponseMetadata"])
        self.assertEqual(list(response["GetCallerIdentityResult"]), ["Account", "Arn", "UserId"])
        self.assertEqual(response["GetCallerIdentityResult"]["Arn"], arn)
        self.assertEqual(response["GetCallerIdentityResult"]["Account"], "111122223333")
        self.assertRegex(response["ResponseMetadata"]["RequestId"],
                         r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertEqual(headers["x-amzn-requestid"], response["ResponseMetadata"]["RequestId"])

    def assert_refused(self, result, code, status=403):
        got_status, _, body = result
        got_code, kind, _ = fs.sts_error(body)
        self.assertEqual((got_status, got_code, kind), (status, code, "Sender"), body)

    # ---- independent signers verify ----------------------------------------------------------

    def test_aws_eks_get_token_verifies(self):
        url = fs.token_to_url(fs.aws_eks_get_token())
        self.assertTrue(url.startswith("https://sts.us-west-2.amazonaws.com/?"), "regional STS endpoint expected")
        params = dict(fs.query_params(url))
        self.assertEqual(params["X-Amz-SignedHeaders"], "host;x-k8s-aws-id")
        self.assert_identity(*self.fake.send_token_url(url))

    def test_aws_eks_get_token_with_session_token_verifies(self):
        url = fs.token_to_url(fs.aws_eks_get_token(creds=fs.TEMPORARY))
        self.assertIn("X-Amz-Security-Token", dict(fs.query_params(url)))
        self.assert_identity(*self.fake.send_token_url(url), arn=fs.BOB_ARN)

    def test_botocore_presign_verifies_with_both_payload_conventions(self):
        for empty_body_hash in (False, True):
            with self.subTest(empty_body_hash=empty_body_hash):
                url = fs.botocore_presign(empty_body_hash=empty_body_hash)
                self.assert_identity(*self.fake.send_token_url(url))

    def test_botocore_presign_with_session_token_verifies(self):
        self.assert_identity(*self.fake.send_token_url(fs.botocore_presign(creds=fs.TEMPORARY)), arn=fs.BOB_ARN)

    def test_global_and_fips_endpoints(self):
        url = fs.botocore_presign(region="us-east-1", host="sts.amazonaws.com")
        self.assert_identity(*self.fake.send_token_url(url, sni="sts.amazonaws.com"))
        url = fs.botocore_presign(region="us-east-2", host="sts-fips.us-east-2.amazonaws.com")
        self.assert_identity(*self.fake.send_token_url(url, sni="sts-fips.us-east-2.amazonaws.com"))
        # Signed for us-west-2 but sent to the global endpoint (us-east-1).
        url = fs.botocore_presign(region="us-west-2", host="sts.amazonaws.com")
        self.assert_refused(self.fake.send_token_url(url, sni="sts.amazonaws.com"), "SignatureDoesNotMatch")

    def test_xml_without_accept_json(self):
        status, headers, body = self.fake.send_token_url(fs.botocore_presign(), accept_json=False)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/xml")
        self.assertIn(b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">', body)
        self.assertIn(f"<Arn>{fs.ALICE_ARN}</Arn>".encode(), body)

    def test_window_is_fifteen_minutes(self):
        url = fs.botocore_presign(when=utcnow() - datetime.timedelta(minutes=14))
        self.assert_identity(*self.fake.send_token_url(url))

    # ---- every change is refused --------------------------------------------------------------

    def test_other_cluster_id(self):
        for url in (fs.token_to_url(fs.aws_eks_get_token()), fs.botocore_presign()):
            self.assert_refused(self.fake.send_token_url(url, cluster="other-cluster"), "SignatureDoesNotMatch")
            self.assert_refused(self.fake.send_token_url(url, cluster=fs.CLUSTER[:-1]), "SignatureDoesNotMatch")

    def test_every_one_character_change_of_the_signature(self):
        url = fs.token_to_url(fs.aws_eks_get_token())
        signature = dict(fs.query_params(url))["X-Amz-Signature"]
        self.assertRegex(signature, r"^[0-9a-f]{64}$")
        for i, ch in enumerate(signature):
            changed = signature[:i] + ("0" if ch != "0" else "1") + signature[i + 1:]
            with self.subTest(position=i):
                self.assert_refused(self.fake.send_token_url(fs.replace_param(url, "X-Amz-Signature", changed)),
                                    "SignatureDoesNotMatch")

    def test_every_one_character_change_of_the_credential(self):
        url = fs.botocore_presign()
        credential = dict(fs.query_params(url))["X-Amz-Credential"]
        key_end = credential.index("/")
        for i, ch in enumerate(credential):
            changed = credential[:i] + _other_char(ch) + credential[i + 1:]
            if ch == "/":
                expected = ("IncompleteSignature", 400)  # no longer five slash-separated elements
            elif i < key_end:
                expected = ("InvalidClientTokenId", 403)  # another access key
            else:
                expected = ("SignatureDoesNotMatch", 403)  # scope date, region, service or terminator
            with self.subTest(credential=changed):
                self.assert_refused(self.fake.send_token_url(fs.replace_param(url, "X-Amz-Credential", changed)),
                                    *expected)

    def test_every_one_character_change_of_the_date(self):
        signed_at = utcnow().replace(microsecond=0)
        url = fs.botocore_presign(when=signed_at)
        date = dict(fs.query_params(url))["X-Amz-Date"]
        for i, ch in enumerate(date):
            changed = date[:i] + _other_char(ch) + date[i + 1:]
            parsed = _parse_amz_date(changed)
            if parsed is None:
                expected = ("IncompleteSignature", 400)
            elif changed[:8] != date[:8]:
                expected = ("SignatureDoesNotMatch", 403)  # scope date differs
            elif utcnow() > parsed + datetime.timedelta(minutes=15):
                expected = ("ExpiredToken", 403)
            else:
                expected = ("SignatureDoesNotMatch", 403)
            with self.subTest(date=changed):
                self.assert_refused(self.fake.send_token_url(fs.replace_param(url, "X-Amz-Date", changed)), *expected)

    def test_every_one_character_change_of_the_host(self):
        url = fs.botocore_presign()
        for i, ch in enumerate(fs.STS_HOST):
            host = fs.STS_HOST[:i] + _other_char(ch) + fs.STS_HOST[i + 1:]
            with self.subTest(host=host):
                self.assert_refused(self.fake.send_token_url(url, host=host), "SignatureDoesNotMatch")
        # The same host with an explicit port is another signed value.
        self.assert_refused(self.fake.send_token_url(url, host=fs.STS_HOST + ":443"), "SignatureDoesNotMatch")

    def test_other_query_changes(self):
        url = fs.botocore_presign()
        self.assert_refused(self.fake.send_token_url(url + "&Extra=1"), "SignatureDoesNotMatch")
        self.assert_refused(self.fake.send_token_url(fs.replace_param(url, "X-Amz-Expires", "900")),
                            "SignatureDoesNotMatch")
        self.assert_refused(self.fake.send_token_url(fs.replace_param(url, "Action", "GetCallerIdentitx")),
                            "SignatureDoesNotMatch")
        self.assert_refused(self.fake.send_token_url(fs.replace_param(url, "X-Amz-SignedHeaders", "x-k8s-aws-id")),
                            "IncompleteSignature", 400)
        without_signature = re.sub(r"&X-Amz-Signature=[0-9a-f]+", "", url)
        self.assert_refused(self.fake.send_token_url(without_signature), "IncompleteSignature", 400)
        bare = "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
        self.assert_refused(self.fake.send_token_url(bare), "MissingAuthenticationToken")

    def test_expired(self):
        for minutes in (16, 60):
            url = fs.botocore_presign(when=utcnow() - datetime.timedelta(minutes=minutes))
            self.assert_refused(self.fake.send_token_url(url), "ExpiredToken")
        status, _, body = self.fake.send_token_url(fs.botocore_presign(when=utcnow() - datetime.timedelta(minutes=16)))
        self.assertEqual(json.loads(body)["Error"]["Message"], "Request has expired")

    def test_too_far_in_the_future(self):
        url = fs.botocore_presign(when=utcnow() + datetime.timedelta(minutes=20))
        self.assert_refused(self.fake.send_token_url(url), "SignatureDoesNotMatch")

    def test_session_token_mismatch(self):
        akid, secret, token = fs.TEMPORARY
        other = token[:-3] + "X=="
        self.assert_refused(self.fake.send_token_url(fs.botocore_presign(creds=(akid, secret, other))),
                            "InvalidClientTokenId")
        self.assert_refused(self.fake.send_token_url(fs.botocore_presign(creds=(akid, secret, None))),
                            "InvalidClientTokenId")
        long_akid, long_secret, _ = fs.LONG_TERM
        self.assert_refused(self.fake.send_token_url(fs.botocore_presign(creds=(long_akid, long_secret, token))),
                            "InvalidClientTokenId")

    def test_unknown_key_and_wrong_secret(self):
        self.assert_refused(self.fake.send_token_url(fs.botocore_presign(creds=("AKIDUNKNOWN", "x", None))),
                            "InvalidClientTokenId")
        akid, secret, _ = fs.LONG_TERM
        self.assert_refused(self.fake.send_token_url(fs.botocore_presign(creds=(akid, secret[:-1] + "Z", None))),
                            "SignatureDoesNotMatch")

    def test_errors_never_echo_secrets(self):
        url = fs.botocore_presign(creds=fs.TEMPORARY)
        signature = dict(fs.query_params(url))["X-Amz-Signature"]
        _, _, body = self.fake.send_token_url(url, cluster="other-cluster")
        self.assertNotIn(signature.encode(), body)
        self.assertNotIn(fs.TEMPORARY[2].encode(), body)
        log = self.fake.stderr()
        self.assertNotIn(signature, log)
        self.assertNotIn(fs.TEMPORARY[1], log)
        self.assertNotIn(fs.TEMPORARY[2], log)
        self.assertIn("akid=ASIAEXAMPLETEMPKEY01", log)

    # ---- one connection, many requests ----------------------------------------------------------

    def test_one_keep_alive_connection_answers_each_request_as_its_own(self):
        """A session keeps its request, reply and header storage between requests: nothing of one
        request may leak into the next (fewer parameters, other headers, a header larger than
        the storage kept for it)."""
        alice = urllib.parse.urlsplit(fs.botocore_presign())
        bob = urllib.parse.urlsplit(fs.botocore_presign(creds=fs.TEMPORARY))  # one more parameter
        base = {"Host": fs.STS_HOST, "x-k8s-aws-id": fs.CLUSTER, "Accept": "application/json"}
        sequence = [
            (bob, base, 200, fs.BOB_ARN),
            (alice, base, 200, fs.ALICE_ARN),
            (alice, dict(base, **{"x-k8s-aws-id": "other-cluster"}), 403, "SignatureDoesNotMatch"),
            # An unsigned header of 12 KB: verifies, and outgrows the session's header block.
            (alice, dict(base, **{"X-Padding": "p" * 12000}), 200, fs.ALICE_ARN),
            (bob, {k: v for k, v in base.items() if k != "x-k8s-aws-id"}, 403, "SignatureDoesNotMatch"),
            (alice, {k: v for k, v in base.items() if k != "Accept"}, 200, "xml"),
            (bob, base, 200, fs.BOB_ARN),
        ]
        conn = self.fake.connection()
        try:
            for i, (url, headers, status, expected) in enumerate(sequence):
                with self.subTest(request=i):
                    conn.request("GET", url.path + "?" + url.query, headers=headers)
                    resp = conn.getresponse()
                    body = resp.read()
                    got_headers = {k.lower(): v for k, v in resp.getheaders()}
                    self.assertEqual(got_headers["connection"], "keep-alive")
                    if expected == "xml":
                        self.assertEqual(resp.status, 200, body)
                        self.assertIn(b"<Arn>" + fs.ALICE_ARN.encode() + b"</Arn>", body)
                    elif status == 200:
                        self.assert_identity(resp.status, got_headers, body, arn=expected)
                    else:
                        self.assert_refused((resp.status, got_headers, body), expected, status)
        finally:
            conn.close()

    def test_requests_split_pipelined_and_cut_off(self):
        """The session reads requests however they arrive: a header split mid-line over
        several TLS records, a body after its header, two requests in one record, a close
        inside a request (no answer), a close between requests."""
        alice = urllib.parse.urlsplit(fs.botocore_presign())
        target = alice.path + "?" + alice.query
        get = (f"GET {target} HTTP/1.1\r\nHost: {fs.STS_HOST}\r\nx-k8s-aws-id: {fs.CLUSTER}\r\n"
               "Accept: application/json\r\n\r\n").encode()
        form = b"Action=GetCallerIdentity&Version=2011-06-15"
        # Signed for GET: as a POST it is read whole, then refused for its signature.
        post = (f"POST {target} HTTP/1.1\r\nHost: {fs.STS_HOST}\r\nx-k8s-aws-id: {fs.CLUSTER}\r\n"
                "Accept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(form)}\r\n\r\n").encode()

        def answers(sock, count):
            data, out = b"", []
            while len(out) < count:
                end = data.find(b"\r\n\r\n")
                if end >= 0:
                    head = data[:end].decode()
                    length = int(re.search(r"(?im)^content-length: *(\d+)", head).group(1))
                    if len(data) >= end + 4 + length:
                        status = int(head.split(" ", 2)[1])
                        out.append((status, data[end + 4:end + 4 + length]))
                        data = data[end + 4 + length:]
                        continue
                chunk = sock.recv(65536)
                if not chunk:
                    raise AssertionError(f"connection closed after {len(out)} of {count} answers")
                data += chunk
            self.assertEqual(data, b"")
            return out

        def connect():
            raw = socket.create_connection(("127.0.0.1", self.fake.port), 10)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return self.fake.context.wrap_socket(raw, server_hostname=fs.STS_HOST)

        self.fake.reset_stats()
        with connect() as sock:
            # Each send is its own TLS record; the pauses let each reach the fake on its own.
            for piece in (get[:7], get[7:200], get[200:len(get) - 3], get[len(get) - 3:]):
                sock.sendall(piece)
                time.sleep(0.05)
            [(status, body)] = answers(sock, 1)
            self.assertEqual(status, 200, body)
            self.assertIn(fs.ALICE_ARN.encode(), body)

            sock.sendall(post)
            time.sleep(0.05)
            sock.sendall(form[:10])
            time.sleep(0.05)
            sock.sendall(form[10:])
            [(status, body)] = answers(sock, 1)
            self.assertEqual((status, fs.sts_error(body)[0]), (403, "SignatureDoesNotMatch"), body)

            sock.sendall(get + post + form + get)
            got = answers(sock, 3)
            self.assertEqual([g[0] for g in got], [200, 403, 200], got)

            # A close_notify inside a body: nothing is answered, the connection ends (with or
            # without the fake's close_notify). An answer would make unwrap fail with
            # APPLICATION_DATA_AFTER_CLOSE_NOTIFY, or be read after it.
            sock.sendall(post + form[:5])
            time.sleep(0.05)
            try:
                raw = sock.unwrap()
                self.assertEqual(raw.recv(65536), b"")
            except ssl.SSLEOFError:
                pass  # closed without close_notify: nothing answered either
        # A close_notify between requests, and one before the first byte: the fake answers it
        # with its own.
        with connect() as sock:
            sock.sendall(get)
            self.assertEqual([g[0] for g in answers(sock, 1)], [200])
            self.assertEqual(sock.unwrap().recv(65536), b"")
        with connect() as sock:
            self.assertEqual(sock.unwrap().recv(65536), b"")
        self.assertEqual(self.fake.stats()["total"], 6)


def _other_char(ch):
    """Another character of the same kind (digit, lower, upper), so the change is minimal."""
    for alphabet in (string.digits, string.ascii_lowercase, string.ascii_uppercase):
        if ch in alphabet:
            return alphabet[(alphabet.index(ch) + 1) % len(alphabet)]
    return "x"


def _parse_amz_date(text):
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z", text)
    if not m:
        return None
    try:
        return datetime.datetime(*map(int, m.groups()), tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


if __name__ == "__main__":
    fs.main()
