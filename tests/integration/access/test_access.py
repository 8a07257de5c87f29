#!/usr/bin/env python3
"""Access entries and POST /authorize end to end (ACCESS-ENTRIES C2, C5-C7): `stsauth server`
over real TLS on loopback with stsauth-fake-sts, tokens signed for the fake's principals.

One server walks the one-way mode path CONFIG_MAP -> API_AND_CONFIG_MAP -> API by rewriting its
access-entries file (hot reload):
  - CONFIG_MAP: the access entry does not authenticate, /authorize has no opinion;
  - API_AND_CONFIG_MAP: alice (AmazonEKSViewPolicy on namespaces dev-*) may `get pods` in dev-a,
    gets no opinion for `delete pods` in dev-a and `get pods` in prod; the deployer
    (AmazonEKSClusterAdminPolicy, cluster scope) is allowed everything incl. non-resource URLs;
    bob (aws-auth only) still authenticates;
  - API: bob's aws-auth entry no longer authenticates; going back is refused.
A second server goes back from API with a restart: refused (exit 1) without
--allow-authentication-mode-downgrade, accepted for that one start with it.
The SubjectAccessReviews carry the extras the server's own TokenReview answered.

Usage: test_access.py --stsauth BIN --fake BIN --credentials YAML --source-dir DIR
"""

import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import harness  # noqa: E402
from harness import CLUSTER_ID, V1, V1BETA1, FakeCert, FakeSts, Server, metric, presign, wait_until, write_atomically  # noqa: E402

ALICE = "arn:aws:sts::111122223333:assumed-role/Admin/alice"
BOB = "arn:aws:iam::111122223333:user/bob"
DEPLOYER = "arn:aws:sts::444455556666:assumed-role/Deployer/ci-run-42"
SAR_V1 = "authorization.k8s.io/v1"
SAR_V1BETA1 = "authorization.k8s.io/v1beta1"
VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def entries(mode):
    return f"""authenticationMode: {mode}
accessEntries:
  - principalArn: arn:aws:iam::111122223333:role/teams/Admin
    kubernetesGroups: [viewers]
    principalId: AROAINTEGADMINROLE01
    accessPolicies:
      - policyArn: {VIEW}
        accessScope: {{type: namespace, namespaces: ["dev-*"]}}
  - principalArn: arn:aws:iam::444455556666:role/Deployer
    username: "deploy:{{{{SessionName}}}}"
    accessPolicies:
      - policyArn: {ADMIN}
        accessScope: {{type: cluster}}
"""


class AccessEntriesTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="access-", dir=WORKDIR)
        self.fake = FakeSts(CERT, WORKDIR).start()
        self.addCleanup(self.fake.stop)
        self.entries_path = os.path.join(self.dir, "access-entries.yaml")
        write_atomically(self.entries_path, entries("CONFIG_MAP"))
        aws_auth = os.path.join(self.dir, "aws-auth.yaml")
        write_atomically(aws_auth, "kind: ConfigMap\ndata:\n  mapUsers: |\n"
                                   f"    - userarn: {BOB}\n      username: cm-bob\n      groups: [cm]\n")
        config = f"""clusterID: {CLUSTER_ID}
server:
  address: 127.0.0.1
  hostname: localhost
  healthPort: {harness.free_port()}
  healthAddress: 127.0.0.1
  shutdownGrace: 5s
  backendMode: [AccessEntries, EKSConfigMap]
  awsAuthFile: {aws_auth}
  accessEntries:
    file: {self.entries_path}
  authorization:
    enabled: true
"""
        self.server = Server(WORKDIR, config, fake=self.fake, verbosity="debug").start()
        self.addCleanup(self.server.stop_and_check)

    # ---- helpers ---------------------------------------------------------------------------

    def review(self, arn):
        resp = self.server.review(presign(CREDS[arn]))
        self.assertEqual(resp.status, 200, resp)
        return resp.json()["status"]

    def user(self, arn):
        status = self.review(arn)
        self.assertTrue(status["authenticated"], status)
        return status["user"]

    def authorize(self, user, attributes, version=SAR_V1, non_resource=False):
        spec = {"user": user["username"], "uid": user["uid"], "extra": user.get("extra", {})}
        spec["groups" if version == SAR_V1 else "group"] = user.get("groups", []) + ["system:authenticated"]
        spec["nonResourceAttributes" if non_resource else "resourceAttributes"] = attributes
        body = json.dumps({"apiVersion": version, "kind": "SubjectAccessReview", "metadata": {"creationTimestamp": None},
                           "spec": spec, "status": {"allowed": False}})
        resp = self.server.request("POST", "/authorize", body=body, headers={"Content-Type": "application/json"})
        self.assertEqual(resp.status, 200, resp)
        reply = resp.json()
        self.assertEqual((reply["apiVersion"], reply["kind"]), (version, "SubjectAccessReview"))
        self.assertNotIn("denied", reply["status"], "stsauth never denies")
        return reply["status"]

    def switch_mode(self, mode):
        before = metric(self.server.metrics(), "stsauth_config_reload_total", source="access_entries", result="success")
        write_atomically(self.entries_path, entries(mode))
        wait_until(lambda: metric(self.server.metrics(), "stsauth_config_reload_total", source="access_entries",
                                  result="success") > before, 10, what=f"the switch to {mode}")

    # ---- the walk --------------------------------------------------------------------------

    def test_modes_authentication_and_authorization(self):
        alice_extra = {"canonicalArn": ["arn:aws:iam::111122223333:role/Admin"],
                       "principalId": ["AROAINTEGADMINROLE01"],
                       "sigs.k8s.io/aws-iam-authenticator/principalId": ["AROAINTEGADMINROLE01"]}
        get_pods_dev = {"namespace": "dev-a", "verb": "get", "group": "", "version": "v1", "resource": "pods"}

        # CONFIG_MAP: the entry does not map, /authorize has no opinion, aws-auth answers.
        denied = self.review(ALICE)
        self.assertEqual((denied["authenticated"], denied.get("error")), (False, "not_mapped"))
        status = self.authorize({"username": "x", "uid": "u", "extra": alice_extra}, get_pods_dev)
        self.assertEqual(status, {"allowed": False})
        self.assertEqual(self.user(BOB)["username"], "cm-bob")
        self.assertEqual(metric(self.server.metrics(), "stsauth_authorize_requests_total", decision="no_opinion",
                                reason="mode_config_map"), 1)

        # API_AND_CONFIG_MAP.
        self.switch_mode("API_AND_CONFIG_MAP")
        alice = self.user(ALICE)
        self.assertEqual(alice["username"], "arn:aws:sts::111122223333:assumed-role/Admin/alice")
        self.assertEqual(alice["groups"], ["viewers"])
        self.assertEqual(self.user(BOB)["username"], "cm-bob")
        for version in (SAR_V1, SAR_V1BETA1):
            with self.subTest(version=version):
                allowed = self.authorize(alice, get_pods_dev, version)
                self.assertEqual(allowed, {
                    "allowed": True,
                    "reason": 'EKS Access Policy: allowed by RoleBinding "arn:aws:iam::111122223333:role/teams/Admin+'
                              f'{VIEW}" in namespace "dev-a" of ClusterRole "{VIEW}" to User "AROAINTEGADMINROLE01"'})
                self.assertEqual(self.authorize(alice, dict(get_pods_dev, verb="delete"), version), {"allowed": False})
                self.assertEqual(self.authorize(alice, dict(get_pods_dev, namespace="prod"), version),
                                 {"allowed": False})
                self.assertEqual(self.authorize(alice, {"path": "/healthz", "verb": "get"}, version,
                                                non_resource=True), {"allowed": False})

        deployer = self.user(DEPLOYER)
        self.assertEqual(deployer["username"], "deploy:ci-run-42")
        for attributes, non_resource in (({"namespace": "prod", "verb": "delete", "group": "apps",
                                           "resource": "deployments", "name": "web"}, False),
                                         ({"verb": "create", "group": "rbac.authorization.k8s.io",
                                           "resource": "clusterrolebindings"}, False),
                                         ({"path": "/healthz", "verb": "get"}, True),
                                         ({"path": "/metrics", "verb": "get"}, True)):
            with self.subTest(attributes=attributes):
                status = self.authorize(deployer, attributes, non_resource=non_resource)
                self.assertTrue(status["allowed"], status)
                self.assertIn('of ClusterRole "' + ADMIN + '" to User "AROAINTEGDEPLOYER001"', status["reason"])

        # A review without the extras (an OIDC user, a scrubbed account): no opinion.
        self.assertEqual(self.authorize({"username": "someone", "uid": "u"}, get_pods_dev), {"allowed": False})
        # Malformed: 400, counted.
        resp = self.server.request("POST", "/authorize", body=b'{"kind":"SubjectAccessReview"}')
        self.assertEqual(resp.status, 400, resp)
        resp = self.server.request("GET", "/authorize")
        self.assertEqual(resp.status, 405, resp)
        samples = self.server.metrics()
        self.assertEqual(metric(samples, "stsauth_authorize_malformed_total"), 2)
        self.assertEqual(metric(samples, "stsauth_access_entries", type="STANDARD"), 2)
        self.assertGreaterEqual(metric(samples, "stsauth_authorize_requests_total", decision="allow",
                                       reason="allowed"), 6)

        # API: aws-auth is ignored; going back is refused and the running mode stays.
        self.switch_mode("API")
        denied = self.review(BOB)
        self.assertEqual((denied["authenticated"], denied.get("error")), (False, "not_mapped"))
        self.assertTrue(self.authorize(alice, get_pods_dev)["allowed"])
        write_atomically(self.entries_path, entries("API_AND_CONFIG_MAP"))
        wait_until(lambda: metric(self.server.metrics(), "stsauth_config_reload_total", source="access_entries",
                                  result="rejected") == 1, 10, what="the refused downgrade")
        self.assertFalse(self.review(BOB)["authenticated"])
        self.server.wait_logged("access entries refused")
        with open(os.path.join(self.server.state_dir, "authentication-mode"), encoding="utf-8") as f:
            self.assertEqual(f.read(), "API\n")

    def test_downgrade_override_is_for_one_start(self):
        """C2.2: a start that goes back from the persisted mode exits 1 naming both modes;
        --allow-authentication-mode-downgrade lets one start do it (with a warning), and a reload
        of that same process going back further is refused again."""
        mode_file = os.path.join(self.server.state_dir, "authentication-mode")
        self.switch_mode("API")
        with open(mode_file, encoding="utf-8") as f:
            self.assertEqual(f.read(), "API\n")
        self.assertEqual(self.server.stop(), 0)

        write_atomically(self.entries_path, entries("API_AND_CONFIG_MAP"))
        with self.assertRaises(RuntimeError):
            self.server.start()
        self.assertEqual(self.server.stop(), 1)
        log = self.server.log()
        self.assertIn("authentication mode cannot change from API to API_AND_CONFIG_MAP", log)
        self.assertNotIn("listening on", log)
        with open(mode_file, encoding="utf-8") as f:
            self.assertEqual(f.read(), "API\n", "a refused start leaves the persisted mode")

        self.server.extra_flags.append("--allow-authentication-mode-downgrade")
        self.server.start()
        log = self.server.log()
        self.assertIn("authentication mode API_AND_CONFIG_MAP accepted only because of "
                      "--allow-authentication-mode-downgrade", log)
        self.assertRegex(log, r"level=warn(ing)? msg=\"--allow-authentication-mode-downgrade: this start accepts")
        with open(mode_file, encoding="utf-8") as f:
            self.assertEqual(f.read(), "API_AND_CONFIG_MAP\n")
        # API_AND_CONFIG_MAP serves aws-auth again.
        self.assertEqual(self.user(BOB)["username"], "cm-bob")

        # The override was for that start: going back to CONFIG_MAP on reload is refused.
        write_atomically(self.entries_path, entries("CONFIG_MAP"))
        wait_until(lambda: metric(self.server.metrics(), "stsauth_config_reload_total", source="access_entries",
                                  result="rejected") == 1, 10, what="the refused reload")
        self.server.wait_logged("authentication mode cannot change from API_AND_CONFIG_MAP to CONFIG_MAP")
        self.assertTrue(self.authorize(self.user(ALICE), {"namespace": "dev-a", "verb": "get", "group": "",
                                                          "resource": "pods"})["allowed"])
        with open(mode_file, encoding="utf-8") as f:
            self.assertEqual(f.read(), "API_AND_CONFIG_MAP\n")


def main():
    global WORKDIR, CERT, CREDS
    args, rest = harness.parse_args(__doc__.splitlines()[0])
    with harness.suite_workdir("stsauth-access-") as WORKDIR:
        CERT = FakeCert(WORKDIR)
        CREDS, _ = harness.load_credentials(args.credentials)
        result = harness.run_tests(sys.modules[__name__], rest=rest, classes=[AccessEntriesTests])
    sys.exit(0 if result.wasSuccessful() else 1)


WORKDIR = CERT = CREDS = None

if __name__ == "__main__":
    main()
