#!/usr/bin/env python3
"""Interop: botocore's EC2 client (header-signed SigV4, service ec2) gets DescribeInstances
answers from stsauth-fake-sts, and wrong credentials are refused as EC2 refuses them."""

import socket
import unittest
from unittest import mock

import botocore.config
import botocore.session
from botocore.exceptions import ClientError

import fakests_support as fs

EC2_HOST = "ec2.us-west-2.amazonaws.com"


class DescribeInstances(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = fs.FakeSts()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop(check=True)

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()

    def client(self, creds=fs.LONG_TERM, endpoint=None):
        akid, secret, token = creds
        session = botocore.session.Session()
        client = session.create_client(
            "ec2", region_name=fs.REGION, endpoint_url=endpoint or f"https://127.0.0.1:{self.fake.port}",
            verify=self.fake.ca, aws_access_key_id=akid, aws_secret_access_key=secret, aws_session_token=token,
            config=botocore.config.Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=10))
        self.clients.append(client)
        return client

    def test_private_dns_name_through_an_endpoint_override(self):
        out = self.client().describe_instances(InstanceIds=["i-0123456789abcdef0"])
        instances = [i for r in out["Reservations"] for i in r["Instances"]]
        self.assertEqual([(i["InstanceId"], i["PrivateDnsName"]) for i in instances],
                         [("i-0123456789abcdef0", "ip-10-0-0-1.us-west-2.compute.internal")])
        self.assertEqual(out["Reservations"][0]["OwnerId"], "111122223333")

    def test_several_ids_and_temporary_credentials(self):
        out = self.client(fs.TEMPORARY).describe_instances(InstanceIds=["i-0fedcba9876543210", "i-0123456789abcdef0"])
        names = sorted(i["PrivateDnsName"] for r in out["Reservations"] for i in r["Instances"])
        self.assertEqual(names, ["ip-10-0-0-1.us-west-2.compute.internal", "ip-10-0-0-2.us-west-2.compute.internal"])

    def test_regional_host_name_is_checked_against_the_scope(self):
        # Resolve the real EC2 host name to the fake so that Host, SNI and the certificate name are
        # the AWS ones and the scope's region is checked against the host.
        real_getaddrinfo = socket.getaddrinfo

        def pinned(host, *args, **kwargs):
            return real_getaddrinfo("127.0.0.1" if host == EC2_HOST else host, *args, **kwargs)

        with mock.patch("socket.getaddrinfo", pinned):
            out = self.client(endpoint=f"https://{EC2_HOST}:{self.fake.port}").describe_instances(
                InstanceIds=["i-0fedcba9876543210"])
        self.assertEqual(out["Reservations"][0]["Instances"][0]["PrivateDnsName"],
                         "ip-10-0-0-2.us-west-2.compute.internal")

    def test_wrong_secret_is_auth_failure(self):
        akid, secret, _ = fs.LONG_TERM
        with self.assertRaises(ClientError) as caught:
            self.client((akid, secret[:-1] + "Z", None)).describe_instances(InstanceIds=["i-0123456789abcdef0"])
        err = caught.exception.response
        self.assertEqual(err["Error"]["Code"], "AuthFailure")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 401)

    def test_unknown_key_and_wrong_session_token_are_auth_failure(self):
        akid, secret, token = fs.TEMPORARY
        for creds in (("AKIDNOBODY", "x", None), (akid, secret, token + "x"), (akid, secret, None)):
            with self.subTest(akid=creds[0], token=creds[2] is not None):
                with self.assertRaises(ClientError) as caught:
                    self.client(creds).describe_instances(InstanceIds=["i-0123456789abcdef0"])
                self.assertEqual(caught.exception.response["Error"]["Code"], "AuthFailure")

    def test_unknown_and_malformed_ids(self):
        with self.assertRaises(ClientError) as caught:
            self.client().describe_instances(InstanceIds=["i-0123456789abcdef0", "i-00000000000000000"])
        err = caught.exception.response
        self.assertEqual(err["Error"]["Code"], "InvalidInstanceID.NotFound")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertIn("i-00000000000000000", err["Error"]["Message"])
        with self.assertRaises(ClientError) as caught:
            self.client().describe_instances(InstanceIds=["node-1"])
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidInstanceID.Malformed")

    def test_throttling_and_stats(self):
        self.fake.reset_stats()
        self.client().describe_instances(InstanceIds=["i-0123456789abcdef0"])
        self.fake.set_faults(throttle_rate=1)
        try:
            with self.assertRaises(ClientError) as caught:
                self.client().describe_instances(InstanceIds=["i-0123456789abcdef0"])
            self.assertEqual(caught.exception.response["Error"]["Code"], "RequestLimitExceeded")
        finally:
            self.fake.set_faults(clear=True)
        stats = self.fake.stats()
        self.assertEqual(stats["by_action"], {"DescribeInstances": 2})
        self.assertEqual(stats["by_outcome"], {"success": 1, "RequestLimitExceeded": 1})


if __name__ == "__main__":
    fs.main()
