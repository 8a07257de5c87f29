#!/usr/bin/env python3
"""Integration tests of `stsauth token` (and the CLI's basics), run through CTest.

Usage: test_token_cli.py --stsauth PATH [unittest arguments, e.g. a test class name]

Every run of stsauth and of botocore gets a fresh, isolated environment: a temporary HOME, no
inherited AWS_* variables, IMDS disabled. botocore runs as a subprocess (botocore_presign.py,
beside this file) with the very same environment, so credential and region resolution are
compared too, not only the signer.
"""
import base64
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
BOTOCORE_PRESIGN = os.path.join(HERE, 'botocore_presign.py')
STSAUTH = None  # set from --stsauth
TIMEOUT = 30

SIGNING_TIME = '20230428T000000Z'
KEY_ID = 'AKIDEXAMPLE'
SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEOr//////////wEaCXVzLXdlc3QtMiJHMEUCIQ+abc/def=='
RFC3339 = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$')


class sandbox:
    """A temporary HOME with optional ~/.aws/credentials and ~/.aws/config."""

    def __init__(self, credentials=None, config=None):
        self.home = tempfile.mkdtemp(prefix='stsauth-token-test-')
        os.mkdir(os.path.join(self.home, '.aws'))
        self.credentials_path = os.path.join(self.home, '.aws', 'credentials')
        self.config_path = os.path.join(self.home, '.aws', 'config')
        if credentials is not None:
            with open(self.credentials_path, 'w') as f:
                f.write(credentials)
        if config is not None:
            with open(self.config_path, 'w') as f:
                f.write(config)

    def env(self, **extra):
        e = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': self.home,
             'AWS_EC2_METADATA_DISABLED': 'true', 'LC_ALL': 'C.UTF-8'}
        e.update({k: v for k, v in extra.items() if v is not None})
        return e

    def close(self):
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run_stsauth(args, env):
    return subprocess.run([STSAUTH] + args, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def botocore_url(env, cluster_id, region=None, profile=None):
    cmd = [sys.executable, BOTOCORE_PRESIGN, '--cluster-id', cluster_id, '--time', SIGNING_TIME]
    if region:
        cmd += ['--region', region]
    if profile:
        cmd += ['--profile', profile]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    if p.returncode != 0:
        raise AssertionError('botocore failed: ' + p.stderr)
    return p.stdout.strip()


def decode_token(token):
    assert token.startswith('k8s-aws-v1.'), token
    body = token[len('k8s-aws-v1.'):]
    assert '=' not in body, 'the token must not be padded'
    return base64.urlsafe_b64decode(body + '=' * (-len(body) % 4)).decode('utf-8')


class BotocoreParity(unittest.TestCase):
    """(1) `stsauth token` and botocore (as `aws eks get-token`) presign the same URL, byte for byte."""

    def check(self, box, cluster_id='test-cluster', region=None, profile=None, **env):
        environment = box.env(STSAUTH_TEST_SIGNING_TIME=SIGNING_TIME, **env)
        args = ['token', '--token-only', '-i', cluster_id]
        if region:
            args += ['--region', region]
        if profile:
            args += ['--profile', profile]
        p = run_stsauth(args, environment)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, '')
        ours = decode_token(p.stdout.rstrip('\n'))
        theirs = botocore_url(environment, cluster_id, region, profile)
        self.assertEqual(ours, theirs)
        return ours

    def test_long_term_keys_from_environment(self):
        with sandbox() as box:
            url = self.check(box, region='us-west-2', AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET)
            self.assertNotIn('X-Amz-Security-Token', url)

    def test_session_token_from_environment(self):
        with sandbox() as box:
            url = self.check(box, region='eu-central-1', AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET,
                             AWS_SESSION_TOKEN=SESSION_TOKEN)
            self.assertIn('&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Security-Token=', url)

    def test_legacy_security_token_variable_wins_as_in_botocore(self):
        with sandbox() as box:
            url = self.check(box, region='us-west-2', AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET,
                             AWS_SESSION_TOKEN='new-token', AWS_SECURITY_TOKEN='legacy-token')
            self.assertIn('X-Amz-Security-Token=legacy-token', url)

    def test_us_east_1_uses_the_regional_endpoint(self):
        with sandbox() as box:
            url = self.check(box, region='us-east-1', AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET)
            self.assertTrue(url.startswith('https://sts.us-east-1.amazonaws.com/?'), url)

    def test_china_partition(self):
        with sandbox() as box:
            url = self.check(box, region='cn-north-1', AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET,
                             AWS_SESSION_TOKEN=SESSION_TOKEN)
            self.assertTrue(url.startswith('https://sts.cn-north-1.amazonaws.com.cn/?'), url)

    def test_unusual_cluster_ids(self):
        with sandbox() as box:
            for cluster_id in ['my  cluster', 'prod.example.com', 'ünïcode/cluster+1=2&x']:
                with self.subTest(cluster_id=cluster_id):
                    self.check(box, cluster_id=cluster_id, region='ap-southeast-2', AWS_ACCESS_KEY_ID=KEY_ID,
                               AWS_SECRET_ACCESS_KEY=SECRET)

    def test_default_profile_from_files_region_from_config(self):
        creds = f'[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n'
        with sandbox(credentials=creds, config='[default]\nregion = eu-west-1\n') as box:
            url = self.check(box)
            self.assertIn('%2Feu-west-1%2Fsts%2F', url)

    def test_aws_profile_credentials_file_overrides_config_file(self):
        creds = f'[dev]\naws_access_key_id = AKIDFROMCREDS\naws_secret_access_key = {SECRET}\n'
        config = ('[profile dev]\nregion = us-west-1\naws_access_key_id = AKIDFROMCONFIG\n'
                  'aws_secret_access_key = other\n')
        with sandbox(credentials=creds, config=config) as box:
            url = self.check(box, AWS_PROFILE='dev')
            self.assertIn('X-Amz-Credential=AKIDFROMCREDS%2F20230428%2Fus-west-1%2F', url)

    def test_config_file_credentials_with_session_token(self):
        config = (f'[profile ci]\nregion = ca-central-1\naws_access_key_id = {KEY_ID}\n'
                  f'aws_secret_access_key = {SECRET}\naws_session_token = {SESSION_TOKEN}\n')
        with sandbox(config=config) as box:
            url = self.check(box, AWS_PROFILE='ci')
            self.assertIn('X-Amz-Security-Token=', url)

    def test_environment_beats_aws_profile_but_not_profile_flag(self):
        creds = f'[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = {SECRET}\n'
        with sandbox(credentials=creds) as box:
            url = self.check(box, region='us-west-2', AWS_PROFILE='dev', AWS_ACCESS_KEY_ID='AKIDENV',
                             AWS_SECRET_ACCESS_KEY=SECRET)
            self.assertIn('X-Amz-Credential=AKIDENV%2F', url)
            url = self.check(box, region='us-west-2', profile='dev', AWS_ACCESS_KEY_ID='AKIDENV',
                             AWS_SECRET_ACCESS_KEY=SECRET)
            self.assertIn('X-Amz-Credential=AKIDDEV%2F', url)

    def test_region_from_aws_default_region_beats_profile(self):
        creds = f'[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n'
        with sandbox(credentials=creds, config='[default]\nregion = eu-west-1\n') as box:
            url = self.check(box, AWS_DEFAULT_REGION='sa-east-1')
            self.assertIn('%2Fsa-east-1%2Fsts%2F', url)


class ExecCredentialOutput(unittest.TestCase):
    """(2) The ExecCredential, read as kubectl's exec plugin reads it."""

    def run_token(self, box, extra_args=(), **env):
        environment = box.env(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET, **env)
        p = run_stsauth(['token', '-i', 'test-cluster', '--region', 'us-west-2'] + list(extra_args), environment)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, '')
        self.assertTrue(p.stdout.endswith('\n'))
        self.assertEqual(p.stdout.count('\n'), 1, 'one line on stdout')
        return p.stdout

    def parse(self, stdout, want_api_version):
        cred = json.loads(stdout)
        self.assertEqual(cred['kind'], 'ExecCredential')
        self.assertEqual(cred['apiVersion'], want_api_version)
        self.assertEqual(cred['spec'], {'interactive': False})
        status = cred['status']
        self.assertEqual(set(status), {'expirationTimestamp', 'token'})
        self.assertRegex(status['expirationTimestamp'], RFC3339)
        expiry = datetime.datetime.strptime(status['expirationTimestamp'], '%Y-%m-%dT%H:%M:%SZ')
        url = decode_token(status['token'])
        self.assertTrue(url.startswith('https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&'), url)
        return cred, expiry

    def test_default_is_v1beta1_with_fixed_time(self):
        with sandbox() as box:
            out = self.run_token(box, STSAUTH_TEST_SIGNING_TIME=SIGNING_TIME)
            cred, expiry = self.parse(out, 'client.authentication.k8s.io/v1beta1')
            self.assertEqual(cred['status']['expirationTimestamp'], '2023-04-28T00:14:00Z')
            self.assertEqual(list(cred), ['kind', 'apiVersion', 'spec', 'status'])
            only = self.run_token(box, ['--token-only'], STSAUTH_TEST_SIGNING_TIME=SIGNING_TIME)
            self.assertEqual(only.rstrip('\n'), cred['status']['token'])

    def test_expiry_is_now_plus_14_minutes(self):
        with sandbox() as box:
            before = datetime.datetime.utcnow().replace(microsecond=0)
            _, expiry = self.parse(self.run_token(box), 'client.authentication.k8s.io/v1beta1')
            after = datetime.datetime.utcnow()
            self.assertGreaterEqual(expiry, before + datetime.timedelta(minutes=14))
            self.assertLessEqual(expiry, after + datetime.timedelta(minutes=14))
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(decode_token(json.loads(self.run_token(box))
                                                                             ['status']['token'])).query)
            signed = datetime.datetime.strptime(query['X-Amz-Date'][0], '%Y%m%dT%H%M%SZ')
            self.assertLessEqual(abs((signed - before).total_seconds()), 5)

    def test_v1_is_echoed_from_kubernetes_exec_info(self):
        info = json.dumps({'kind': 'ExecCredential', 'apiVersion': 'client.authentication.k8s.io/v1',
                           'spec': {'interactive': False}})
        with sandbox() as box:
            self.parse(self.run_token(box, KUBERNETES_EXEC_INFO=info), 'client.authentication.k8s.io/v1')

    def test_v1beta1_exec_info(self):
        info = json.dumps({'kind': 'ExecCredential', 'apiVersion': 'client.authentication.k8s.io/v1beta1',
                           'spec': {}})
        with sandbox() as box:
            self.parse(self.run_token(box, KUBERNETES_EXEC_INFO=info), 'client.authentication.k8s.io/v1beta1')

    def test_malformed_exec_info_gives_v1beta1(self):
        with sandbox() as box:
            for info in ['{', 'garbage', '[]', '{"apiVersion": 3}', '{}']:
                with self.subTest(info=info):
                    self.parse(self.run_token(box, KUBERNETES_EXEC_INFO=info), 'client.authentication.k8s.io/v1beta1')

    def test_cluster_id_from_environment_and_global_flag_position(self):
        with sandbox() as box:
            env = box.env(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET,
                          STSAUTH_TEST_SIGNING_TIME=SIGNING_TIME)
            a = run_stsauth(['token', '--token-only', '-i', 'c1'], env)
            b = run_stsauth(['-i', 'c1', 'token', '--token-only'], env)
            c = run_stsauth(['token', '--token-only'], dict(env, KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID='c1'))
            d = run_stsauth(['token', '--token-only', '--cluster-id=c1'], env)
            for p in (a, b, c, d):
                self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual({a.stdout, b.stdout, c.stdout, d.stdout}, {a.stdout})


class Errors(unittest.TestCase):
    """(3) Failures exit 1 (runtime) or 2 (usage) with a clear message and nothing on stdout."""

    def fail_with(self, box, args, code, *fragments, **env):
        p = run_stsauth(args, box.env(**env))
        self.assertEqual(p.returncode, code, p.stderr)
        self.assertEqual(p.stdout, '')
        for f in fragments:
            self.assertIn(f, p.stderr)
        return p

    def test_no_credentials_names_where_it_looked(self):
        with sandbox(config='[default]\nregion = us-west-2\n') as box:
            self.fail_with(box, ['token', '-i', 'c'], 1, 'no AWS credentials found', 'AWS_ACCESS_KEY_ID',
                           box.credentials_path + ' (file not found)', box.config_path, 'instance metadata')

    def test_missing_cluster_id(self):
        with sandbox() as box:
            self.fail_with(box, ['token'], 1, 'Error: cluster ID not specified', AWS_ACCESS_KEY_ID=KEY_ID,
                           AWS_SECRET_ACCESS_KEY=SECRET)
            self.fail_with(box, ['token', '-i', ''], 1, 'cluster ID not specified', AWS_ACCESS_KEY_ID=KEY_ID,
                           AWS_SECRET_ACCESS_KEY=SECRET)

    def test_assume_role_is_refused(self):
        with sandbox() as box:
            for args, env in [(['token', '-i', 'c', '-r', 'arn:aws:iam::1:role/r'], {}),
                              (['token', '-i', 'c'], {'DEFAULT_ROLE': 'arn:aws:iam::1:role/r'})]:
                self.fail_with(box, args, 1, 'not supported yet', AWS_ACCESS_KEY_ID=KEY_ID,
                               AWS_SECRET_ACCESS_KEY=SECRET, **env)

    def test_profile_with_role_arn_is_refused(self):
        creds = f'[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n'
        config = '[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n'
        with sandbox(credentials=creds, config=config) as box:
            self.fail_with(box, ['token', '-i', 'c'], 1, 'role_arn', 'not supported yet')

    def test_profile_not_found(self):
        with sandbox(credentials='[default]\n') as box:
            self.fail_with(box, ['token', '-i', 'c', '--profile', 'ghost'], 1, '"ghost"', 'could not be found')
            self.fail_with(box, ['token', '-i', 'c'], 1, '"ghost"', AWS_PROFILE='ghost')

    def test_malformed_file(self):
        with sandbox(credentials='[default]\naws_access_key_id AKID\n') as box:
            self.fail_with(box, ['token', '-i', 'c'], 1, box.credentials_path + ':2:')

    def test_partial_environment_credentials(self):
        with sandbox() as box:
            self.fail_with(box, ['token', '-i', 'c'], 1, 'AWS_SECRET_ACCESS_KEY', AWS_ACCESS_KEY_ID=KEY_ID)

    def test_invalid_region(self):
        with sandbox() as box:
            self.fail_with(box, ['token', '-i', 'c', '--region', 'evil.example.com/'], 1, 'invalid region',
                           AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET)

    def test_fips_request_is_refused(self):
        with sandbox() as box:
            self.fail_with(box, ['token', '-i', 'c'], 1, 'FIPS', AWS_USE_FIPS_ENDPOINT='true',
                           AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET)

    def test_bad_test_signing_time(self):
        with sandbox() as box:
            self.fail_with(box, ['token', '-i', 'c'], 1, 'STSAUTH_TEST_SIGNING_TIME', STSAUTH_TEST_SIGNING_TIME='now',
                           AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET)

    def test_usage_errors_exit_2(self):
        with sandbox() as box:
            self.fail_with(box, ['token', '--no-such-flag'], 2, '--no-such-flag')
            self.fail_with(box, ['token', 'extra-argument'], 2)
            self.fail_with(box, [], 2)
            self.fail_with(box, ['version', '-o', 'xml'], 2)
            self.fail_with(box, ['add'], 2)
            self.fail_with(box, ['add', 'user', '--userarn', 'a'], 2)

    def test_invalid_log_verbosity_exits_1(self):
        with sandbox() as box:
            self.fail_with(box, ['-v', 'loud', 'version'], 1, 'invalid log level')


class NoSecretsLeak(unittest.TestCase):
    """(4) Neither the secret key nor the session token ever reaches stdout or stderr."""

    SECRET = 'S3cr3tK3y/Plus+Eq=Distinctive0123456789'
    TOKEN = 'Sess10nT0k3n/Plus+Eq=Distinctive9876543210'

    def forms(self, value):
        return {value, urllib.parse.quote(value, safe=''), urllib.parse.quote_plus(value),
                base64.b64encode(value.encode()).decode().rstrip('='),
                base64.urlsafe_b64encode(value.encode()).decode().rstrip('=')}

    def assert_clean(self, p):
        for stream in (p.stdout, p.stderr):
            for f in self.forms(self.SECRET):
                self.assertNotIn(f, stream)
        for f in self.forms(self.TOKEN):
            self.assertNotIn(f, p.stderr)
        # stdout carries the token (the presigned URL, session token included, base64url-encoded as a
        # whole): the session token itself never appears there in a readable form.
        self.assertNotIn(self.TOKEN, p.stdout)
        self.assertNotIn(urllib.parse.quote(self.TOKEN, safe=''), p.stdout)

    def test_success_and_failure_paths_at_every_verbosity(self):
        keys = {'AWS_ACCESS_KEY_ID': KEY_ID, 'AWS_SECRET_ACCESS_KEY': self.SECRET, 'AWS_SESSION_TOKEN': self.TOKEN}
        file_keys = (f'aws_access_key_id = {KEY_ID}\naws_secret_access_key = {self.SECRET}\n'
                     f'aws_session_token = {self.TOKEN}\n')
        scenarios = [
            ('success json', [], {}, None, None, 0),
            ('success token-only', ['--token-only', '--cache'], {}, None, None, 0),
            ('assume role', ['-r', 'arn:aws:iam::1:role/r'], {}, None, None, 1),
            ('bad region', [], {'AWS_REGION': 'bad/region'}, None, None, 1),
            ('no cluster', None, {}, None, None, 1),
            ('partial env', [], {'AWS_ACCESS_KEY_ID': '', 'AWS_SECRET_ACCESS_KEY': self.SECRET}, None, None, 1),
            ('malformed file line holds the secret', [], {'AWS_ACCESS_KEY_ID': ''},
             f'[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key {self.SECRET}\n', None, 1),
            ('partial file', [], {'AWS_ACCESS_KEY_ID': ''},
             f'[default]\naws_secret_access_key = {self.SECRET}\naws_access_key_id =\n'
             f'aws_session_token = {self.TOKEN}\n', None, 1),
            ('unsupported role in file', [], {'AWS_ACCESS_KEY_ID': ''},
             f'[default]\n{file_keys}role_arn = arn:aws:iam::1:role/r\n', None, 1),
            ('file success', [], {'AWS_ACCESS_KEY_ID': ''}, f'[default]\n{file_keys}', None, 0),
            ('config success', [], {'AWS_ACCESS_KEY_ID': ''}, None, f'[default]\n{file_keys}', 0),
        ]
        for name, args, env_override, creds, config, want in scenarios:
            for log_args in (['-v', 'trace'], ['-v', 'trace', '-l', 'json'], []):
                with self.subTest(scenario=name, log=log_args), sandbox(credentials=creds, config=config) as box:
                    env = dict(keys)
                    env.update(env_override)
                    env = {k: v for k, v in env.items() if v}
                    cmd = log_args + ['token'] + ([] if args is None else ['-i', 'c'] + args)
                    env.setdefault('AWS_DEFAULT_REGION', 'us-west-2')
                    p = run_stsauth(cmd, box.env(**env))
                    self.assertEqual(p.returncode, want, p.stderr)
                    self.assert_clean(p)


class CliBasics(unittest.TestCase):
    """version and help."""

    def run_ok(self, args):
        with sandbox() as box:
            return run_stsauth(args, box.env())

    def test_version(self):
        p = self.run_ok(['version'])
        self.assertEqual(p.returncode, 0)
        info = json.loads(p.stdout)
        self.assertRegex(info['Version'], r'^\d+\.\d+\.\d+')
        short = self.run_ok(['version', '--short'])
        self.assertEqual(short.stdout, info['Version'] + '\n')
        yaml_out = self.run_ok(['version', '-o', 'yaml'])
        self.assertEqual(yaml_out.returncode, 0)
        self.assertEqual(yaml_out.stdout, 'Version: "%s"\n' % info['Version'])

    def test_help_does_not_mention_the_test_hook(self):
        for args in (['--help'], ['token', '--help']):
            p = self.run_ok(args)
            self.assertEqual(p.returncode, 0)
            self.assertIn('Usage', p.stdout)
            self.assertNotIn('STSAUTH_TEST_SIGNING_TIME', p.stdout + p.stderr)
            self.assertNotIn('signing-time', p.stdout + p.stderr)

    def test_token_help_lists_its_flags(self):
        p = self.run_ok(['token', '--help'])
        for flag in ('--role', '--external-id', '--session-name', '--region', '--profile', '--token-only',
                     '--forward-session-name', '--cache'):
            self.assertIn(flag, p.stdout)


def main():
    global STSAUTH
    argv = list(sys.argv)
    if '--stsauth' not in argv:
        sys.exit('usage: test_token_cli.py --stsauth PATH [unittest args]')
    i = argv.index('--stsauth')
    STSAUTH = os.path.abspath(argv[i + 1])
    del argv[i:i + 2]
    unittest.main(argv=argv, verbosity=2)


if __name__ == '__main__':
    main()
