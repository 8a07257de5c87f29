#!/usr/bin/env python3
"""Offline checks of deploy/ (and of the docs that describe it), run through CTest.

Usage: test_deploy.py --stsauth PATH --repo DIR [--fake-sts PATH] [unittest arguments, e.g. a class name]

What is checked, without a cluster, a network or a Docker daemon:
- every YAML file under deploy/ parses, and every Kubernetes object has the fields it needs;
- the DaemonSet and the static pod keep the hardening and scheduling contract of the issue;
- every argument given to stsauth (DaemonSet, static pod, systemd unit, Dockerfile CMD, client
  kubeconfigs) is a flag that the built binary's --help lists;
- each deployment really starts: the shipped config and args are run against the built binary
  (paths moved into a temporary directory, ports replaced by free ones), the probes' paths answer
  200 on the probed port, and the webhook answers on the URL and with the CA of the kubeconfig
  that `stsauth init` wrote;
- the example webhook kubeconfig is byte for byte what `stsauth init` writes (but the CA), and the
  kube-apiserver snippets point at that file;
- client kubeconfigs produce an ExecCredential of the version they announce;
- the Dockerfile is multi-stage, non-root, and its runtime file set runs stsauth (chroot, as root);
- the systemd unit has its hardening options (and passes systemd-analyze when it is installed);
- docs/ names every flag, config key and reason code the code has.
Optional tools (kubectl, aws, systemd-analyze, chroot as root) are used when present; their
absence is reported on stderr and skips only that part.
"""
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

import yaml

STSAUTH = None   # --stsauth
REPO = None      # --repo
FAKE_STS = None  # --fake-sts (optional): stsauth-fake-sts, which verifies SigV4 for real
TIMEOUT = 20    # seconds, any single command

SERVICE_UID = 65532


def deploy_path(*parts):
    return os.path.join(REPO, 'deploy', *parts)


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def load_yaml_docs(path):
    return [d for d in yaml.safe_load_all(read(path)) if d is not None]


def load_one(path, kind=None):
    docs = load_yaml_docs(path)
    if kind is not None:
        docs = [d for d in docs if d.get('kind') == kind]
    if len(docs) != 1:
        raise AssertionError(f'{path}: expected exactly one {kind or "document"}, found {len(docs)}')
    return docs[0]


def note(message):
    print(f'NOTE: {message}', file=sys.stderr)


def run(args, **kwargs):
    kwargs.setdefault('capture_output', True)
    kwargs.setdefault('text', True)
    kwargs.setdefault('timeout', TIMEOUT)
    return subprocess.run(args, **kwargs)


def yaml_files():
    out = []
    for dirpath, _, files in os.walk(deploy_path()):
        for f in files:
            if f.endswith(('.yaml', '.yml')):
                out.append(os.path.join(dirpath, f))
    return sorted(out)


# ---- the binary's command line ---------------------------------------------------------------

_help_cache = {}


def help_flags(*subcommand):
    """{flag name: takes a value} from `stsauth [subcommand] --help`."""
    key = subcommand
    if key not in _help_cache:
        p = run([STSAUTH, *subcommand, '--help'])
        if p.returncode != 0:
            raise AssertionError(f'stsauth {" ".join(subcommand)} --help failed: {p.stderr}')
        flags = {}
        for line in p.stdout.splitlines():
            m = re.match(r'^  (-\w,)?(--[A-Za-z0-9][\w-]*)( ([A-Z][A-Z:]*)(?=[\s=]|$))?', line)
            if not m:
                continue
            takes_value = m.group(4) is not None
            flags[m.group(2)] = takes_value
            if m.group(1):
                flags[m.group(1).rstrip(',')] = takes_value
        _help_cache[key] = flags
    return _help_cache[key]


def accepted_flags(subcommand):
    flags = dict(help_flags())
    flags.update(help_flags(subcommand))
    flags.pop('--help', None)
    flags.pop('-h', None)
    return flags


def check_command_line(test, args, where, subcommands=('server',)):
    """args = [subcommand, flags...]: the subcommand is expected and every flag is listed by --help."""
    test.assertTrue(args, f'{where}: no arguments')
    test.assertIn(args[0], subcommands, f'{where}: the first argument must be the subcommand')
    flags = accepted_flags(args[0])
    test.assertIn('--config', flags, 'could not read the flags from --help')
    i = 1
    while i < len(args):
        a = args[i]
        test.assertTrue(a.startswith('-'), f'{where}: unexpected positional argument {a!r}')
        name, eq, value = a.partition('=')
        test.assertIn(name, flags, f'{where}: {name} is not a flag of `stsauth {args[0]}`')
        if flags[name] and not eq:
            i += 1
            test.assertLess(i, len(args), f'{where}: {name} needs a value')
        if not flags[name] and eq:
            test.assertIn(value, ('true', 'false'), f'{where}: {name} is a boolean flag')
        i += 1


def flag_value(args, name):
    for i, a in enumerate(args):
        if a.startswith(name + '='):
            return a.split('=', 1)[1]
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return None


def has_flag(args, name):
    return any(a == name or a.startswith(name + '=') for a in args)


# ---- what the code has: flags, config keys and defaults, environment, metrics, reason codes ----

def help_defaults(*subcommand):
    """{flag: default as --help prints it (`--port INT=21362`), or None} of `stsauth [sub] --help`."""
    p = run([STSAUTH, *subcommand, '--help'])
    out = {}
    for line in p.stdout.splitlines():
        m = re.match(r'^  (?:-\w,)?(--[A-Za-z0-9][\w-]*)(?: [A-Z]+(?::\{[^}]*\})?(?:=(\S+))?)?', line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def source(*parts):
    return read(os.path.join(REPO, *parts))


def parsed_config_keys():
    """{key path: field expression (e.g. 'sts.timeout') or None} of every key that
    lib/config/server_config.cpp parses, read from its key tables (parse_root, parse_server)."""
    text = source('lib', 'config', 'server_config.cpp')
    root_fn = text[text.index('void parser::parse_root'):text.index('void parser::parse_server')]
    server_fn = text[text.index('void parser::parse_server'):]
    server_fn = server_fn[:server_fn.index('parse_map(n, "server", defs);')]

    def tables(fn):
        return dict(re.findall(r'const std::vector<key_def> (\w+) = \{(.*?)\};\n', fn, re.S))

    def entries(body):
        return re.findall(r'\{"([A-Za-z0-9-]+)",\s*([^\n]*)', body)

    def field(handler):
        m = re.match(r'(?:str|dur|integer|boolean|list)\((?:c|cfg_)\.([\w.]+)\)', handler)
        return m.group(1) if m else None

    keys = {}
    for name, handler in entries(tables(root_fn)['defs']):
        if name != 'server':
            keys[name] = field(handler)
    server_tables = tables(server_fn)
    for name, handler in entries(server_tables['defs']):
        nested = re.match(r'nested\((\w+)\)', handler)
        if nested:
            for sub, sub_handler in entries(server_tables[nested.group(1)]):
                keys[f'server.{name}.{sub}'] = field(sub_handler)
        else:
            keys[f'server.{name}'] = field(handler)
    return keys


def struct_defaults():
    """{struct name: {member: (type, initializer or None)}} from lib/config/server_config.hpp."""
    text = source('lib', 'config', 'server_config.hpp')
    out = {}
    for name, body in re.findall(r'^struct (\w+) \{\n(.*?)^\};', text, re.S | re.M):
        members = {}
        for line in body.splitlines():
            m = re.match(r'^    ([\w:<>, ]+?) (\w+)(?: = ([^;]+))?;', line)
            if m and '(' not in m.group(1):
                members[m.group(2)] = (m.group(1), m.group(3))
        out[name] = members
    return out


def code_default(field, structs):
    """The default of a server_config field ('sts.timeout'), normalised (see doc_default)."""
    struct = 'server_config'
    *path, last = field.split('.')
    for member in path:
        struct = structs[struct][member][0]
    type_, init = structs[struct][last]
    if init is None:
        if type_ == 'std::string':
            return ''
        if type_.startswith('std::vector'):
            return []
        raise AssertionError(f'{field}: no default in server_config.hpp for type {type_}')
    init = init.strip()
    m = re.fullmatch(r'std::chrono::(seconds|milliseconds|minutes)\((\d+)\)', init)
    if m:
        return float(m.group(2)) * {'seconds': 1, 'milliseconds': 0.001, 'minutes': 60}[m.group(1)]
    if init in ('true', 'false'):
        return init == 'true'
    if re.fullmatch(r"-?[\d']+", init):
        return int(init.replace("'", ''))
    if init.startswith('"'):
        return json.loads(init)
    if init.startswith('{'):
        return re.findall(r'"([^"]*)"', init)
    raise AssertionError(f'{field}: cannot read the default {init!r}')


def doc_default(cell):
    """The default a docs table cell states, normalised like code_default; None when it states
    none in a comparable form (e.g. `—`)."""
    m = re.search(r'`([^`]*)`', cell)
    if m is None:
        return '' if cell.strip().startswith('none') else None
    v = m.group(1)
    if v == '""':
        return ''
    if v.startswith('['):
        return [x.strip() for x in v[1:-1].split(',') if x.strip()]
    if v in ('true', 'false'):
        return v == 'true'
    if re.fullmatch(r'-?\d+', v):
        return int(v)
    if re.fullmatch(r'(\d+(?:\.\d+)?(?:h|ms|m|s))+', v):
        return duration_seconds(v)
    return v


def doc_table_rows(text):
    """[[cell, ...]] of every markdown table row, header and separator rows included."""
    rows = []
    for line in text.splitlines():
        if line.startswith('|') and line.rstrip().endswith('|'):
            rows.append([c.strip() for c in re.split(r'(?<!\\)\|', line.strip()[1:-1])])
    return rows


def markdown_sections(text, level='###'):
    """{heading: body} for headings of exactly that level; a body ends at the next heading of
    that level or a higher one."""
    parts = re.split(r'^(#+) (.+)$', text, flags=re.M)
    out = {}
    for i in range(1, len(parts) - 2, 3):
        if parts[i] == level:
            body = ''
            j = i
            while True:
                body += parts[j + 2]
                j += 3
                if j >= len(parts) or len(parts[j]) <= len(level):
                    break
                body += f'{parts[j]} {parts[j + 1]}'
            out[parts[i + 1].strip()] = body
    return out


def flag_key_env_from_source():
    """[(config key, flag, env var or None)] from apply_overrides in server_config.cpp."""
    text = source('lib', 'config', 'server_config.cpp')
    out = []
    for m in re.finditer(r'set\(o\.\w+,\s*cfg\.[\w.]+,\s*"([\w.-]+)",\s*"(--[\w-]+)",\s*(nullptr|"(\w+)")\)', text):
        out.append((m.group(1), m.group(2), m.group(4)))
    return out


def env_vars_from_source():
    """Every environment variable lib/ and server/ read: env("X"), envname("X"), getenv("X"), and
    every "AWS_…"/"KUBERNETES_…" string literal (variables read in loops or through tables)."""
    names = set()
    for top in ('lib', 'server'):
        for dirpath, _, files in os.walk(os.path.join(REPO, top)):
            for f in files:
                if f.endswith(('.cpp', '.hpp')):
                    t = read(os.path.join(dirpath, f))
                    names.update(re.findall(r'\b(?:env|envname|get_env|getenv)\(\s*"([A-Z][A-Z0-9_]+)"', t))
                    # names read in loops or through tables ({"AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"})
                    names.update(re.findall(r'"((?:AWS|KUBERNETES|SSL)_[A-Z0-9_]+)"', t))
                    if 'set_default_verify_paths' in t:  # OpenSSL's system trust store
                        names.update(('SSL_CERT_FILE', 'SSL_CERT_DIR'))
    return names


def metric_names_from_source():
    text = source('lib', 'metrics', 'metrics.cpp')
    names = set(re.findall(r'"(stsauth_[a-z_]+)"', text))
    names |= {'aws_iam_authenticator_' + n for n in re.findall(r'ref\("([a-z_]+)"\)', text)}
    process = source('lib', 'metrics', 'process.cpp')
    names |= set(re.findall(r'"(process_[a-z_]+)"', process))
    return names


def reason_codes_from_source():
    """Every reason code a review can be denied with (the sources Docs checks operations.md for)."""
    codes = set(re.findall(r'^\| `([a-z_]+)` \|', source('lib', 'token', 'README.md'), re.M))
    for f in os.listdir(os.path.join(REPO, 'lib', 'sts')):
        if f.endswith('.cpp'):
            codes |= set(re.findall(r'"(sts_[a-z_]+)"', source('lib', 'sts', f)))
    codes |= set(re.findall(r'= "(ec2_[a-z_]+)";', source('lib', 'ec2', 'describe_instances.hpp')))
    codes |= set(re.findall(r'deny\(std::move\(d\), "([a-z_0-9]+)"', source('lib', 'authn', 'authenticator.cpp')))
    codes |= set(re.findall(r'make_error\(\s*"([a-z_]+)"', source('lib', 'access', 'backend.cpp')))
    return codes


# ---- manifests ---------------------------------------------------------------------------------

def daemonset():
    return load_one(deploy_path('kubernetes', 'base', 'daemonset.yaml'), 'DaemonSet')


def static_pod():
    return load_one(deploy_path('kubernetes', 'static-pod', 'stsauth.yaml'), 'Pod')


def base_configmap():
    return load_one(deploy_path('kubernetes', 'base', 'configmap.yaml'), 'ConfigMap')


def aws_auth_example():
    return load_one(deploy_path('kubernetes', 'examples', 'aws-auth.yaml'), 'ConfigMap')


def prometheus_rule():
    return load_one(deploy_path('kubernetes', 'monitoring', 'prometheusrule.yaml'), 'PrometheusRule')


def quantity_mib(q):
    m = re.fullmatch(r'(\d+)(Mi|Gi)', q)
    if m is None:
        raise AssertionError(f'memory quantity {q!r}: expected Mi or Gi')
    return int(m.group(1)) * (1024 if m.group(2) == 'Gi' else 1)


def container(pod_spec, name='stsauth'):
    for c in pod_spec['containers']:
        if c['name'] == name:
            return c
    raise AssertionError(f'no container {name}')


def duration_seconds(text):
    """Go durations as the config uses them (10s, 1m30s, 500ms)."""
    total = 0.0
    units = {'h': 3600, 'm': 60, 's': 1, 'ms': 0.001}
    parts = re.findall(r'(\d+(?:\.\d+)?)(ms|h|m|s)', str(text))
    if not parts or ''.join(n + u for n, u in parts) != str(text):
        raise AssertionError(f'not a duration: {text!r}')
    for n, u in parts:
        total += float(n) * units[u]
    return total


def systemd_unit(path):
    """[(section, key, value)] of a unit file (keys may repeat, so not configparser)."""
    out = []
    section = None
    for raw in read(path).splitlines():
        line = raw.strip()
        if not line or line.startswith(('#', ';')):
            continue
        if line.startswith('['):
            section = line.strip('[]')
            continue
        key, _, value = line.partition('=')
        out.append((section, key.strip(), value.strip()))
    return out


def unit_values(entries, section, key):
    return [v for s, k, v in entries if s == section and k == key]


def dockerfile_stages(text):
    """[(from_line, [instructions])] with continuation lines joined."""
    logical = []
    buf = ''
    for raw in text.splitlines():
        line = raw.rstrip()
        if not buf and (not line.strip() or line.lstrip().startswith('#')):
            continue
        if line.endswith('\\'):
            buf += line[:-1] + ' '
            continue
        logical.append((buf + line).strip())
        buf = ''
    stages = []
    for ins in logical:
        if ins.upper().startswith('FROM '):
            stages.append((ins, []))
        elif stages:
            stages[-1][1].append(ins)
    return logical, stages


# ---- a sandbox that plays the kubelet / the host -------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class sandbox:
    """A temporary directory standing in for the node's file system: absolute paths are moved
    under it, ports are replaced by free ones."""

    def __init__(self, test):
        self.test = test
        self.root = tempfile.mkdtemp(prefix='stsauth-deploy-test-')
        self.port = free_port()
        self.health_port = free_port()
        while self.health_port == self.port:
            self.health_port = free_port()
        self.proc = None
        self.stderr_path = os.path.join(self.root, 'stderr.log')

    def host(self, path):
        return os.path.join(self.root, path.lstrip('/')) if path.startswith('/') else path

    def move_paths(self, node):
        if isinstance(node, dict):
            return {k: self.move_paths(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.move_paths(v) for v in node]
        if isinstance(node, str) and node.startswith('/'):
            return self.host(node)
        return node

    def move_args(self, args):
        out = []
        for a in args:
            name, eq, value = a.partition('=')
            if eq and value.startswith('/'):
                out.append(f'{name}={self.host(value)}')
            elif a.startswith('/'):
                out.append(self.host(a))
            else:
                out.append(a)
        return out

    def write_config(self, config_text, path, keep_port=False):
        """The config moved into the sandbox, with our ports; returns the parsed original."""
        original = yaml.safe_load(config_text)
        moved = self.move_paths(original)
        if not keep_port:
            moved['server']['port'] = self.port
        moved['server']['healthPort'] = self.health_port
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            yaml.safe_dump(moved, f)
        return original

    def write_files(self, directory, files):
        os.makedirs(directory, exist_ok=True)
        for name, text in files.items():
            with open(os.path.join(directory, name), 'w') as f:
                f.write(text)

    def run_init(self, args):
        p = run([STSAUTH, *self.move_args(args)], cwd=self.root, env=self.env())
        self.test.assertEqual(p.returncode, 0, f'stsauth {" ".join(args)} failed: {p.stderr}')
        return p

    def env(self):
        """The process environment of a pod: no AWS_* variables, no ~/.aws of the test's user."""
        env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
        env['HOME'] = self.root
        return env

    def start(self, args, extra_args=()):
        """Starts stsauth with `args` moved into the sandbox, then `extra_args` as given."""
        self.stderr = open(self.stderr_path, 'w')
        self.proc = subprocess.Popen([STSAUTH, *self.move_args(args), *extra_args], cwd=self.root, env=self.env(),
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)

    def log(self):
        return read(self.stderr_path) if os.path.exists(self.stderr_path) else ''

    def log_messages(self):
        msgs = []
        for line in self.log().splitlines():
            try:
                msgs.append(json.loads(line)['msg'])
            except (ValueError, KeyError):
                msgs.append(line)
        return msgs

    def http_get(self, port, path, host='127.0.0.1'):
        conn = http.client.HTTPConnection(host, port, timeout=5)
        try:
            conn.request('GET', path)
            r = conn.getresponse()
            return r.status, r.read().decode()
        finally:
            conn.close()

    def wait_ready(self, port, path, host):
        deadline = time.monotonic() + 15
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.test.fail(f'stsauth exited with {self.proc.returncode}:\n{self.log()}')
            try:
                last = self.http_get(port, path, host)
                if last[0] == 200:
                    return
            except OSError as e:
                last = e
            time.sleep(0.1)
        self.test.fail(f'{path} on port {port} never answered 200 (last: {last}):\n{self.log()}')

    def https(self, kubeconfig_text, method, path_suffix='', body=None):
        """Calls the webhook exactly as kube-apiserver would from this kubeconfig (our port)."""
        kc = yaml.safe_load(kubeconfig_text)
        cluster = kc['clusters'][0]['cluster']
        url = urllib.parse.urlsplit(cluster['server'])
        ca = os.path.join(self.root, 'kubeconfig-ca.pem')
        with open(ca, 'wb') as f:
            f.write(base64.b64decode(cluster['certificate-authority-data'], validate=True))
        ctx = ssl.create_default_context(cafile=ca)
        conn = http.client.HTTPSConnection(url.hostname, self.port, context=ctx, timeout=5)
        try:
            headers = {'Content-Type': 'application/json'} if body is not None else {}
            conn.request(method, url.path + path_suffix, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.read().decode()
        finally:
            conn.close()

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.test.fail('stsauth did not exit within 15 s of SIGTERM')
        self.stderr.close()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


# ---- tests ---------------------------------------------------------------------------------------

class Manifests(unittest.TestCase):
    """Every YAML parses; objects carry what Kubernetes and the issue require."""

    def test_every_yaml_file_parses(self):
        files = yaml_files()
        self.assertGreaterEqual(len(files), 12, 'deploy/ lost YAML files?')
        for path in files:
            with self.subTest(path=os.path.relpath(path, REPO)):
                docs = load_yaml_docs(path)
                self.assertTrue(docs, 'empty YAML file')
                for d in docs:
                    self.assertIsInstance(d, dict, 'each document must be a mapping')

    def test_kubernetes_objects_have_required_fields(self):
        namespaced = {'ConfigMap', 'DaemonSet', 'Pod', 'ServiceAccount', 'Role', 'RoleBinding'}
        seen = 0
        for path in yaml_files():
            if '/kubernetes/' not in path or os.path.basename(path) == 'kustomization.yaml':
                continue
            for d in load_yaml_docs(path):
                if 'kind' not in d:
                    continue  # a config file (static-pod/config.yaml)
                seen += 1
                with self.subTest(path=os.path.relpath(path, REPO), kind=d['kind']):
                    self.assertIn('apiVersion', d)
                    self.assertTrue(d.get('metadata', {}).get('name'))
                    if d['kind'] in namespaced:
                        self.assertEqual(d['metadata'].get('namespace'), 'kube-system')
        self.assertGreaterEqual(seen, 5)

    def pod_contract(self, pod_spec, where):
        self.assertIs(pod_spec.get('hostNetwork'), True, f'{where}: hostNetwork')
        self.assertEqual(pod_spec.get('dnsPolicy'), 'Default', f'{where}: host DNS')
        self.assertIs(pod_spec.get('automountServiceAccountToken'), False, f'{where}: no API token needed')
        psc = pod_spec.get('securityContext', {})
        self.assertIs(psc.get('runAsNonRoot'), True)
        self.assertEqual(psc.get('runAsUser'), SERVICE_UID)
        self.assertEqual(psc.get('runAsGroup'), SERVICE_UID)
        self.assertEqual(psc.get('seccompProfile', {}).get('type'), 'RuntimeDefault')
        c = container(pod_spec)
        csc = c.get('securityContext', {})
        self.assertIs(csc.get('allowPrivilegeEscalation'), False)
        self.assertIs(csc.get('readOnlyRootFilesystem'), True)
        self.assertNotEqual(csc.get('privileged'), True)
        self.assertEqual(csc.get('capabilities', {}).get('drop'), ['ALL'])
        self.assertFalse(csc.get('capabilities', {}).get('add'))
        res = c.get('resources', {})
        for k in ('cpu', 'memory'):
            self.assertIn(k, res.get('requests', {}), f'{where}: requests.{k}')
        self.assertIn('memory', res.get('limits', {}), f'{where}: a memory limit')
        self.assertEqual(c['livenessProbe']['httpGet']['path'], '/livez')
        self.assertEqual(c['readinessProbe']['httpGet']['path'], '/readyz')
        for probe in ('livenessProbe', 'readinessProbe'):
            self.assertEqual(c[probe]['httpGet'].get('host'), '127.0.0.1',
                             f'{where}: with hostNetwork the kubelet must probe loopback')
        # Every mount names a volume, every volume is mounted.
        volumes = {v['name']: v for v in pod_spec.get('volumes', [])}
        mounts = c.get('volumeMounts', [])
        for m in mounts:
            self.assertIn(m['name'], volumes, f'{where}: mount of an undeclared volume')
            self.assertNotIn('subPath', m, f'{where}: subPath mounts never see ConfigMap updates')
        self.assertEqual({m['name'] for m in mounts}, set(volumes), f'{where}: unused volume')
        for v in volumes.values():
            if 'hostPath' in v:
                self.assertEqual(v['hostPath'].get('type'), 'Directory', f'{where}: {v["name"]}')
        grace = pod_spec.get('terminationGracePeriodSeconds', 30)
        self.assertGreater(grace, 10, f'{where}: must outlast server.shutdownGrace')

    def test_daemonset_contract(self):
        ds = daemonset()
        spec = ds['spec']['template']['spec']
        self.pod_contract(spec, 'DaemonSet')
        self.assertEqual(spec['nodeSelector'], {'node-role.kubernetes.io/control-plane': ''})
        tolerations = {(t.get('key'), t.get('effect')) for t in spec['tolerations']}
        self.assertIn(('node-role.kubernetes.io/control-plane', 'NoSchedule'), tolerations)
        self.assertIn(('CriticalAddonsOnly', None), tolerations)
        self.assertEqual(spec['priorityClassName'], 'system-cluster-critical')
        labels = ds['spec']['template']['metadata']['labels']
        for k, v in ds['spec']['selector']['matchLabels'].items():
            self.assertEqual(labels.get(k), v, 'the selector must match the pod template')
        self.assertEqual(ds['spec']['updateStrategy']['type'], 'RollingUpdate')
        # The objects the pod refers to exist in the base.
        sa = load_one(deploy_path('kubernetes', 'base', 'serviceaccount.yaml'), 'ServiceAccount')
        self.assertEqual(spec['serviceAccountName'], sa['metadata']['name'])
        cms = {v['configMap']['name']: v['configMap'] for v in spec['volumes'] if 'configMap' in v}
        self.assertIn(base_configmap()['metadata']['name'], cms)
        aws_auth = aws_auth_example()
        self.assertIn(aws_auth['metadata']['name'], cms)
        self.assertIs(cms[aws_auth['metadata']['name']].get('optional'), True,
                      'a cluster without aws-auth must still start stsauth')

    def test_static_pod_contract(self):
        pod = static_pod()
        self.pod_contract(pod['spec'], 'static pod')
        self.assertEqual(pod['spec']['priorityClassName'], 'system-node-critical')
        self.assertFalse([v for v in pod['spec']['volumes'] if 'configMap' in v or 'secret' in v],
                         'a static pod cannot read API objects')

    def test_ports_and_probes_match_the_config(self):
        for where, spec, config in (
                ('DaemonSet', daemonset()['spec']['template']['spec'],
                 yaml.safe_load(base_configmap()['data']['config.yaml'])),
                ('static pod', static_pod()['spec'],
                 yaml.safe_load(read(deploy_path('kubernetes', 'static-pod', 'config.yaml'))))):
            with self.subTest(where=where):
                c = container(spec)
                server = config['server']
                ports = {p['containerPort'] for p in c['ports']}
                self.assertEqual(ports, {server['port'], server['healthPort']})
                for probe in ('livenessProbe', 'readinessProbe'):
                    self.assertEqual(c[probe]['httpGet']['port'], server['healthPort'])
                    self.assertEqual(c[probe]['httpGet'].get('scheme', 'HTTP'), 'HTTP')
                self.assertIn(server.get('healthAddress', ''), ('127.0.0.1', '', '0.0.0.0'))
                self.assertEqual(server['address'], '127.0.0.1')

    def test_every_path_the_server_reads_is_mounted(self):
        cases = (('DaemonSet', daemonset()['spec']['template']['spec'],
                  base_configmap()['data']['config.yaml']),
                 ('overlay', daemonset()['spec']['template']['spec'],
                  read(deploy_path('kubernetes', 'overlays', 'example', 'config.yaml'))),
                 ('static pod', static_pod()['spec'], read(deploy_path('kubernetes', 'static-pod', 'config.yaml'))))
        for where, spec, config_text in cases:
            with self.subTest(where=where):
                c = container(spec)
                mounts = [m['mountPath'].rstrip('/') + '/' for m in c['volumeMounts']]
                server = yaml.safe_load(config_text)['server']
                needed = [flag_value(c['args'], '--config'), flag_value(c['args'], '--state-dir'),
                          server['stateDir']]
                needed += [server[k] for k in ('awsAuthFile', 'dynamicfilepath') if server.get(k)]
                pregenerated = has_flag(c['args'], '--kubeconfig-pregenerated') or server.get('kubeconfigPregenerated')
                self.assertTrue(pregenerated, f'{where}: the pod must not rewrite the kubeconfig apiserver trusts')
                for path in needed:
                    self.assertTrue(path and any((path.rstrip('/') + '/').startswith(m) for m in mounts),
                                    f'{where}: {path} is not under a volume mount')
                if (server.get('accessEntries') or {}).get('file'):
                    state = [m for m in c['volumeMounts'] if m['mountPath'].rstrip('/') == server['stateDir'].rstrip('/')]
                    self.assertTrue(state and not state[0].get('readOnly'),
                                    f'{where}: access entries persist the authentication mode in the state directory')
                self.assertEqual(flag_value(c['args'], '--state-dir'), server['stateDir'])
                self.assertEqual(flag_value(c['args'], '--generate-kubeconfig'), server['generateKubeconfig'])

    def test_configmap_mounts_point_at_the_config(self):
        spec = daemonset()['spec']['template']['spec']
        c = container(spec)
        volumes = {v['name']: v for v in spec['volumes']}
        by_path = {m['mountPath']: volumes[m['name']] for m in c['volumeMounts']}
        config = flag_value(c['args'], '--config')
        vol = by_path[os.path.dirname(config)]
        self.assertEqual(vol['configMap']['name'], base_configmap()['metadata']['name'])
        self.assertIn(os.path.basename(config), base_configmap()['data'])
        server = yaml.safe_load(base_configmap()['data']['config.yaml'])['server']
        self.assertEqual(by_path[server['awsAuthFile']]['configMap']['name'], 'aws-auth')

    def test_kustomizations(self):
        found = 0
        for path in yaml_files():
            if os.path.basename(path) != 'kustomization.yaml':
                continue
            found += 1
            k = load_one(path)
            here = os.path.dirname(path)
            with self.subTest(path=os.path.relpath(path, REPO)):
                for r in k.get('resources', []):
                    target = os.path.join(here, r)
                    self.assertTrue(os.path.isfile(target) or os.path.isfile(os.path.join(target, 'kustomization.yaml')),
                                    f'resource {r} does not exist')
                for g in k.get('configMapGenerator', []):
                    for f in g.get('files', []):
                        self.assertTrue(os.path.isfile(os.path.join(here, f.split('=')[-1])), f)
                kubectl = shutil.which('kubectl')
                if not kubectl:
                    note('kubectl not found: kustomize rendering not checked')
                    continue
                p = run([kubectl, 'kustomize', here])
                self.assertEqual(p.returncode, 0, p.stderr)
                rendered = [d for d in yaml.safe_load_all(p.stdout) if d]
                kinds = sorted(d['kind'] for d in rendered)
                self.assertEqual(kinds, ['ConfigMap', 'DaemonSet', 'ServiceAccount'])
                for d in rendered:
                    self.assertEqual(d['metadata']['namespace'], 'kube-system')
                    if d['kind'] == 'DaemonSet':
                        image = container(d['spec']['template']['spec'])['image']
                        self.assertRegex(image, r'^[\w.-]+(/[\w.-]+)+:[\w.-]+$', 'image left unresolved')
                    if d['kind'] == 'ConfigMap':
                        self.assertEqual(d['metadata']['name'], 'stsauth', 'no hash suffix: hot reload')
        self.assertGreaterEqual(found, 2)

    def test_resources_agree_everywhere(self):
        """The DaemonSet, the static pod, the systemd unit and the memory alert use one sizing."""
        ds = container(daemonset()['spec']['template']['spec'])['resources']
        self.assertEqual(container(static_pod()['spec'])['resources'], ds)
        self.assertNotIn('cpu', ds.get('limits', {}), 'no CPU limit: throttling turns into apiserver timeouts')
        limit = ds['limits']['memory']
        m = re.fullmatch(r'(\d+)Mi', limit)
        self.assertTrue(m, f'memory limit {limit}: expected Mi')
        limit_mib = int(m.group(1))
        self.assertLessEqual(quantity_mib(ds['requests']['memory']), limit_mib)
        unit = systemd_unit(deploy_path('systemd', 'stsauth.service'))
        self.assertEqual(unit_values(unit, 'Service', 'MemoryMax'), [f'{limit_mib}M'])
        rules = {r['alert']: r for g in prometheus_rule()['spec']['groups'] for r in g['rules']}
        self.assertIn(f'0.8 * {limit_mib} * 1024 * 1024', rules['StsauthNearMemoryLimit']['expr'])

    def test_prometheus_rule(self):
        rule = prometheus_rule()
        self.assertEqual(rule['apiVersion'], 'monitoring.coreos.com/v1')
        ops = read(os.path.join(REPO, 'docs', 'operations.md'))
        headings = set(re.findall(r'^#### (\w+)$', ops, re.M))
        names = []
        for group in rule['spec']['groups']:
            self.assertTrue(group['name'])
            for r in group['rules']:
                names.append(r['alert'])
                with self.subTest(alert=r['alert']):
                    self.assertEqual(set(r) - {'alert', 'expr', 'for', 'labels', 'annotations'}, set())
                    self.assertIn(r['labels']['severity'], ('critical', 'warning', 'info'))
                    self.assertTrue(r['annotations']['summary'])
                    if 'for' in r:
                        duration_seconds(r['for'])
                    expr = r['expr']
                    self.assertEqual(expr.count('('), expr.count(')'))
                    self.assertEqual(expr.count('{'), expr.count('}'))
                    for selector in re.findall(r'\b((?:stsauth|aws_iam_authenticator|process)_\w+)\{([^}]*)\}', expr):
                        self.assertIn('job="stsauth"', selector[1], f'{selector[0]}: select the stsauth job')
                    self.assertEqual(r['annotations']['runbook'], 'docs/operations.md#' + r['alert'].lower())
                    self.assertIn(r['alert'], headings, 'operations.md needs a "#### <alert>" section')
        self.assertEqual(len(names), len(set(names)))
        self.assertEqual(set(names), headings, 'operations.md documents exactly the shipped alerts')
        promtool = shutil.which('promtool')
        if not promtool:
            note('promtool not found: PromQL not parsed')
            return
        with tempfile.NamedTemporaryFile('w', suffix='.yaml') as f:
            yaml.safe_dump(rule['spec'], f)
            f.flush()
            p = run([promtool, 'check', 'rules', f.name])
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


class CommandLines(unittest.TestCase):
    """Every stsauth invocation shipped in deploy/ uses flags the binary accepts."""

    def test_help_parsing_sees_the_real_flags(self):
        # Guards the other tests against a --help format change that would make them vacuous.
        server = accepted_flags('server')
        for f in ('--config', '-c', '--cluster-id', '--state-dir', '--kubeconfig-pregenerated', '--port'):
            self.assertIn(f, server)
        self.assertFalse(server['--kubeconfig-pregenerated'])
        self.assertTrue(server['--state-dir'])
        with self.assertRaises(AssertionError):
            check_command_line(self, ['server', '--no-such-flag'], 'negative control')

    def test_unknown_flag_is_a_usage_error(self):
        p = run([STSAUTH, 'server', '--no-such-flag'])
        self.assertEqual(p.returncode, 2)

    def test_pod_args(self):
        for where, spec in (('DaemonSet', daemonset()['spec']['template']['spec']), ('static pod', static_pod()['spec'])):
            with self.subTest(where=where):
                check_command_line(self, container(spec)['args'], where)

    def test_systemd_exec_lines(self):
        unit = systemd_unit(deploy_path('systemd', 'stsauth.service'))
        start = unit_values(unit, 'Service', 'ExecStart')
        pre = unit_values(unit, 'Service', 'ExecStartPre')
        self.assertEqual(len(start), 1)
        for line, subcommands in ((start[0], ('server',)), *((p, ('init',)) for p in pre)):
            argv = line.lstrip('-+!@:').split()
            self.assertEqual(os.path.basename(argv[0]), 'stsauth')
            check_command_line(self, argv[1:], 'systemd unit', subcommands)

    def test_dockerfile_cmd(self):
        _, stages = dockerfile_stages(read(deploy_path('docker', 'Dockerfile')))
        final = stages[-1][1]
        entry = [i for i in final if i.upper().startswith('ENTRYPOINT ')]
        cmd = [i for i in final if i.upper().startswith('CMD ')]
        self.assertEqual(len(entry), 1)
        self.assertEqual(json.loads(entry[0][len('ENTRYPOINT '):]), ['/usr/local/bin/stsauth'])
        self.assertEqual(len(cmd), 1)
        args = json.loads(cmd[0][len('CMD '):])
        check_command_line(self, args, 'Dockerfile CMD')
        # The image's default config path is the one the DaemonSet mounts.
        self.assertEqual(flag_value(args, '--config'), flag_value(container(daemonset()['spec']['template']['spec'])['args'], '--config'))


class LiveDeployments(unittest.TestCase):
    """Runs each deployment's config and args against the built binary."""

    def setUp(self):
        self.box = sandbox(self)

    def tearDown(self):
        self.box.close()

    def init_then_serve(self, config_text, config_path, init_args, server_args, probes, aws_auth=None):
        box = self.box
        original = box.write_config(config_text, box.host(config_path))
        if aws_auth is not None:
            path, data = aws_auth
            box.write_files(box.host(path), data)
        box.run_init(init_args)
        kubeconfig_path = box.host(flag_value(init_args, '--generate-kubeconfig') or original['server']['generateKubeconfig'])
        state_dir = box.host(flag_value(init_args, '--state-dir') or original['server']['stateDir'])
        self.assertTrue(os.path.isfile(kubeconfig_path), 'init did not write the webhook kubeconfig')
        for f in ('cert.pem', 'key.pem'):
            self.assertTrue(os.path.isfile(os.path.join(state_dir, f)), f)
        self.assertEqual(flag_value(server_args, '--generate-kubeconfig') or original['server']['generateKubeconfig'],
                         flag_value(init_args, '--generate-kubeconfig') or original['server']['generateKubeconfig'],
                         'init and server must agree on the kubeconfig path')
        kubeconfig = read(kubeconfig_path)

        box.start(server_args)
        health = original['server']['healthPort']
        for probe in probes:
            get = probe['httpGet']
            self.assertEqual(get['port'], health)
            box.wait_ready(box.health_port, get['path'], get['host'])
        # The health port answers `ok` on any path but /readyz and /metrics, so a probe path is
        # proven real on the TLS port, which answers 404 for unknown paths. This also exercises
        # the URL and CA of the kubeconfig init wrote, as kube-apiserver uses them.
        status, _ = box.https(kubeconfig.replace('/authenticate', '/no-such-route'), 'GET')
        self.assertEqual(status, 404, 'negative control')
        for probe in probes:
            status, _ = box.https(kubeconfig.replace('/authenticate', probe['httpGet']['path']), 'GET')
            self.assertEqual(status, 200, f'{probe["httpGet"]["path"]} is not a route of stsauth')
        review = json.dumps({'apiVersion': 'authentication.k8s.io/v1', 'kind': 'TokenReview',
                             'spec': {'token': 'k8s-aws-v1.not-a-token'}})
        status, body = box.https(kubeconfig, 'POST', '?timeout=30s', review)
        self.assertEqual(status, 200, body)
        answer = json.loads(body)
        self.assertEqual(answer['apiVersion'], 'authentication.k8s.io/v1')
        self.assertIs(answer['status']['authenticated'], False)
        self.assertTrue(answer['status']['error'])
        self.assertEqual(read(kubeconfig_path), kubeconfig, 'the server rewrote a pre-generated kubeconfig')
        rc = box.stop()
        self.assertEqual(rc, 0, box.log())
        messages = box.log_messages()
        self.assertFalse([m for m in messages if 'not reloaded' in m or 'cannot' in m], box.log())
        return messages

    def test_authorization_webhook(self):
        """The DaemonSet with access entries and server.authorization.enabled answers kube-apiserver's
        SubjectAccessReviews on the URL of deploy/apiserver/authorization-webhook-kubeconfig.yaml,
        derived (as that file says) from the kubeconfig `stsauth init` wrote."""
        box = self.box
        c = container(daemonset()['spec']['template']['spec'])
        config_path = flag_value(c['args'], '--config')
        config = yaml.safe_load(base_configmap()['data']['config.yaml'])
        entries_path = '/etc/stsauth/access-entries/access-entries.yaml'
        config['server']['accessEntries'] = {'file': entries_path}
        config['server']['authorization'] = {'enabled': True}
        role = 'arn:aws:iam::111122223333:role/Dev'
        box.write_files(box.host(os.path.dirname(entries_path)), {os.path.basename(entries_path): yaml.safe_dump({
            'authenticationMode': 'API_AND_CONFIG_MAP',
            'accessEntries': [{'principalArn': role, 'accessPolicies': [{
                'policyArn': 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy',
                'accessScope': {'type': 'namespace', 'namespaces': ['dev-*']}}]}]})})
        box.write_config(yaml.safe_dump(config), box.host(config_path))
        box.write_files(box.host({m['name']: m['mountPath'] for m in c['volumeMounts']}['aws-auth']), {})
        init_args = self.init_args_for(config_path)
        box.run_init(init_args)
        webhook_kubeconfig = read(box.host(config['server']['generateKubeconfig']))
        sed = re.search(r"sed '(s#([^#]+)#([^#]*)#)'", read(deploy_path('apiserver', 'authorization-webhook-kubeconfig.yaml')))
        kubeconfig = re.sub(sed.group(2).replace('$', '(?m:$)'), sed.group(3), webhook_kubeconfig)
        self.assertIn('/authorize', kubeconfig)
        box.start(c['args'])
        box.wait_ready(box.health_port, '/readyz', '127.0.0.1')

        def review(verb, namespace):
            sar = {'apiVersion': 'authorization.k8s.io/v1', 'kind': 'SubjectAccessReview',
                   'spec': {'user': 'dev', 'groups': ['system:authenticated'],
                            'extra': {'canonicalArn': [role],
                                      'sigs.k8s.io/aws-iam-authenticator/principalId': ['AROAEXAMPLEID']},
                            'resourceAttributes': {'namespace': namespace, 'verb': verb, 'group': '',
                                                   'resource': 'pods'}}}
            status, body = box.https(kubeconfig, 'POST', '?timeout=3s', json.dumps(sar))
            self.assertEqual(status, 200, body)
            answer = json.loads(body)
            self.assertEqual(answer['apiVersion'], 'authorization.k8s.io/v1')
            self.assertNotEqual(answer['status'].get('denied'), True, 'stsauth never denies')
            return answer['status']['allowed']

        self.assertIs(review('get', 'dev-a'), True)
        self.assertIs(review('delete', 'dev-a'), False)
        self.assertIs(review('get', 'prod'), False)
        self.assertEqual(box.stop(), 0, box.log())

    @staticmethod
    def init_args_for(config_path):
        # What deploy/apiserver/README.md tells the operator to run on the node.
        return ['init', f'--config={config_path}', '--feature-gates=ConfiguredInitDirectories=true']

    def daemonset_case(self, config_text):
        spec = daemonset()['spec']['template']['spec']
        c = container(spec)
        config_path = flag_value(c['args'], '--config')
        aws_auth = aws_auth_example()
        mount = {m['name']: m['mountPath'] for m in c['volumeMounts']}['aws-auth']
        messages = self.init_then_serve(config_text, config_path, self.init_args_for(config_path), c['args'],
                                        [c['livenessProbe'], c['readinessProbe']], (mount, aws_auth['data']))
        loaded = [m for m in messages if m.startswith('mappings loaded backend=EKSConfigMap')]
        self.assertEqual(len(loaded), 1, messages)
        counts = [int(n) for n in re.findall(r'(\d+) ', loaded[0])]
        self.assertGreater(sum(counts), 0, f'the aws-auth example loaded nothing: {loaded[0]}')
        # Node mappings need EC2 lookups, on exactly when the config names a region.
        region = (yaml.safe_load(config_text)['server'].get('ec2') or {}).get('region')
        ec2 = [m for m in messages if m.startswith('EC2 lookups for ')]
        self.assertEqual(len(ec2), 1, messages)
        if region:
            self.assertIn(f'via ec2.{region}.amazonaws.com', ec2[0])
        else:
            self.assertIn('are off', ec2[0])

    def test_daemonset_base(self):
        self.daemonset_case(base_configmap()['data']['config.yaml'])

    def test_daemonset_overlay_example(self):
        self.daemonset_case(read(deploy_path('kubernetes', 'overlays', 'example', 'config.yaml')))

    def test_static_pod(self):
        c = container(static_pod()['spec'])
        config_path = flag_value(c['args'], '--config')
        self.init_then_serve(read(deploy_path('kubernetes', 'static-pod', 'config.yaml')), config_path,
                             self.init_args_for(config_path), c['args'], [c['livenessProbe'], c['readinessProbe']])

    def test_systemd_unit(self):
        unit = systemd_unit(deploy_path('systemd', 'stsauth.service'))
        pre = unit_values(unit, 'Service', 'ExecStartPre')[0].split()[1:]
        start = unit_values(unit, 'Service', 'ExecStart')[0].split()[1:]
        config_path = flag_value(start, '--config')
        self.assertEqual(flag_value(pre, '--config'), config_path)
        self.assertEqual(flag_value(pre, '--state-dir'), flag_value(start, '--state-dir'))
        self.assertEqual(flag_value(pre, '--generate-kubeconfig'), flag_value(start, '--generate-kubeconfig'))
        state_dirs = unit_values(unit, 'Service', 'StateDirectory')
        self.assertEqual(['/var/lib/' + d for d in state_dirs], [flag_value(start, '--state-dir')])
        self.assertTrue(flag_value(start, '--generate-kubeconfig').startswith(flag_value(start, '--state-dir') + '/'),
                        'ProtectSystem=strict: stsauth can only write its StateDirectory')
        self.assertTrue(has_flag(start, '--kubeconfig-pregenerated'))
        # The unit's install comment puts the static-pod config at --config.
        health_probe = {'httpGet': {'port': 21363, 'path': '/readyz', 'host': '127.0.0.1'}}
        self.init_then_serve(read(deploy_path('kubernetes', 'static-pod', 'config.yaml')), config_path, pre, start,
                             [health_probe])


class WebhookKubeconfig(unittest.TestCase):
    """deploy/apiserver/ matches what `stsauth init` writes."""

    def setUp(self):
        self.box = sandbox(self)

    def tearDown(self):
        self.box.close()

    def example_text(self):
        text = read(deploy_path('apiserver', 'webhook-kubeconfig.yaml'))
        lines = text.split('\n')
        while lines and lines[0].startswith('#'):
            lines.pop(0)
        return '\n'.join(lines)

    @staticmethod
    def without_ca(text):
        return re.sub(r'(certificate-authority-data: )\S+', r'\1CA', text)

    def test_example_is_what_init_writes_with_the_gate(self):
        config = base_configmap()['data']['config.yaml']
        path = self.box.host('/etc/stsauth/config.yaml')
        # init puts server.port in the URL: keep the shipped port for this comparison.
        original = self.box.write_config(config, path, keep_port=True)
        self.box.run_init(['init', '--config=/etc/stsauth/config.yaml', '--feature-gates=ConfiguredInitDirectories=true'])
        written = read(self.box.host(original['server']['generateKubeconfig']))
        self.assertEqual(self.without_ca(written), self.without_ca(self.example_text()))
        self.assertNotEqual(written, self.example_text(), 'the placeholder must be replaced by the CA')
        cert = read(os.path.join(self.box.host(original['server']['stateDir']), 'cert.pem'))
        ca = re.search(r'certificate-authority-data: (\S+)', written).group(1)
        self.assertEqual(base64.b64decode(ca).decode(), cert)
        key = os.path.join(self.box.host(original['server']['stateDir']), 'key.pem')
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)

    def test_init_without_the_gate_writes_in_the_working_directory(self):
        config = base_configmap()['data']['config.yaml']
        path = self.box.host('/etc/stsauth/config.yaml')
        original = self.box.write_config(config, path, keep_port=True)
        self.box.run_init(['init', '--config=/etc/stsauth/config.yaml'])
        for f in ('cert.pem', 'key.pem', 'aws-iam-authenticator.kubeconfig'):
            self.assertTrue(os.path.isfile(os.path.join(self.box.root, f)), f)
        self.assertFalse(os.path.exists(self.box.host(original['server']['generateKubeconfig'])))
        written = read(os.path.join(self.box.root, 'aws-iam-authenticator.kubeconfig'))
        self.assertEqual(self.without_ca(written), self.without_ca(self.example_text()))

    def test_apiserver_flags_point_at_the_kubeconfig(self):
        ds_args = container(daemonset()['spec']['template']['spec'])['args']
        kubeconfig = flag_value(ds_args, '--generate-kubeconfig')
        self.assertEqual(kubeconfig, flag_value(container(static_pod()['spec'])['args'], '--generate-kubeconfig'))
        self.assertEqual(yaml.safe_load(base_configmap()['data']['config.yaml'])['server']['generateKubeconfig'],
                         kubeconfig)
        for name in ('kubeadm-v1beta4.yaml', 'kubeadm-v1beta3.yaml'):
            with self.subTest(file=name):
                cfg = load_one(deploy_path('apiserver', name), 'ClusterConfiguration')
                self.assertTrue(cfg['apiVersion'].startswith('kubeadm.k8s.io/'))
                extra = cfg['apiServer']['extraArgs']
                if isinstance(extra, list):  # v1beta4: [{name, value}]
                    names = [a['name'] for a in extra]
                    self.assertEqual(len(names), len(set(names)))
                    extra = {a['name']: a['value'] for a in extra}
                self.assertEqual(extra['authentication-token-webhook-config-file'], kubeconfig)
                self.assertEqual(extra['authentication-token-webhook-version'], 'v1')
                self.assertGreater(duration_seconds(extra['authentication-token-webhook-cache-ttl']), 0)
                vols = cfg['apiServer']['extraVolumes']
                self.assertTrue(any(os.path.dirname(kubeconfig) == v['mountPath'] == v['hostPath'] and v.get('readOnly')
                                    for v in vols), 'kube-apiserver must see the kubeconfig directory')

    def test_authorization_kubeconfig_is_derived_from_the_webhook_kubeconfig(self):
        """deploy/apiserver/authorization-webhook-kubeconfig.yaml is what its own sed line makes of
        the authentication webhook kubeconfig."""
        text = read(deploy_path('apiserver', 'authorization-webhook-kubeconfig.yaml'))
        m = re.search(r"sed '(s#([^#]+)#([^#]*)#)'", text)
        self.assertTrue(m, 'the derivation command is documented in the file')
        body = '\n'.join(l for l in text.split('\n') if not l.startswith('#')).lstrip('\n')
        derived = re.sub(m.group(2).replace('$', '(?m:$)'), m.group(3), self.example_text().lstrip('\n'))
        self.assertEqual(yaml.safe_load(body), yaml.safe_load(derived))
        self.assertTrue(yaml.safe_load(body)['clusters'][0]['cluster']['server'].endswith('/authorize'))

    def test_authorization_config(self):
        cfg = load_one(deploy_path('apiserver', 'authorization-config.yaml'), 'AuthorizationConfiguration')
        types = [a['type'] for a in cfg['authorizers']]
        self.assertEqual(types[-1], 'Webhook', 'stsauth only allows or has no opinion: it goes last')
        self.assertLess(types.index('RBAC'), types.index('Webhook'))
        webhook = cfg['authorizers'][-1]['webhook']
        self.assertEqual(webhook['failurePolicy'], 'NoOpinion', 'an outage must degrade to RBAC, not deny all')
        self.assertEqual(webhook['subjectAccessReviewVersion'], 'v1')
        self.assertEqual(os.path.basename(webhook['connectionInfo']['kubeConfigFile']),
                         'authorization-webhook-kubeconfig.yaml')
        # The match condition names an extra key that stsauth's TokenReview really sets.
        extras = read(os.path.join(REPO, 'lib', 'tokenreview', 'tokenreview.cpp'))
        for cond in webhook.get('matchConditions', []):
            for key in re.findall(r"'([^']+)' in request\.extra", cond['expression']):
                self.assertIn(f'"{key}"', extras, f'{key} is not an extra stsauth sets')


class ClientKubeconfigs(unittest.TestCase):
    """The exec plugins of deploy/kubeconfig/ print the ExecCredential kubectl expects, and the
    token they print is accepted by stsauth running the example overlay's configuration.

    With --fake-sts, STS is stsauth-fake-sts, which checks the signature over the x-k8s-aws-id
    header stsauth sends (the server's clusterID): the review must come back authenticated, which
    proves the plugin's cluster ID, region and signing agree with the server. Without it, STS is a
    closed port: the review must fail at the STS connection (503 sts_connect_failed), which still
    proves the token passed every local validation rule."""

    KEY_ID = 'AKIDEXAMPLE'
    SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
    CALLER = 'arn:aws:sts::111122223333:assumed-role/KubernetesAdmin/alice'

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix='stsauth-deploy-client-')
        self.config_text = read(deploy_path('kubernetes', 'overlays', 'example', 'config.yaml'))
        self.cluster_id = yaml.safe_load(self.config_text)['clusterID']
        self.fake = None
        self.box = None

    def tearDown(self):
        if self.box is not None:
            self.box.close()
        if self.fake is not None:
            self.fake.kill()
            self.fake.wait()
            self.fake.stdout.close()
        shutil.rmtree(self.home, ignore_errors=True)

    def start_sts(self):
        """Returns (host:port, CA file or None) of what stands in for STS."""
        if not FAKE_STS:
            note('no stsauth-fake-sts (not built?): tokens are checked up to the STS connection only')
            return f'127.0.0.1:{free_port()}', None
        creds = os.path.join(self.home, 'fake-sts.yaml')
        with open(creds, 'w') as f:
            yaml.safe_dump({'credentials': [{'accessKeyId': self.KEY_ID, 'secretAccessKey': self.SECRET,
                                             'arn': self.CALLER, 'userId': 'AROAEXAMPLEID:alice',
                                             'account': '111122223333'}]}, f)
        ca = os.path.join(self.home, 'fake-sts-ca.pem')
        self.fake = subprocess.Popen([FAKE_STS, '--config', creds, '--ca-out', ca], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.fake.stdout.readline()  # "listening on 127.0.0.1:<port>"
        self.assertRegex(line, r'listening on 127\.0\.0\.1:\d+')
        return line.strip().rsplit(' ', 1)[1], ca

    def start_server(self):
        """stsauth with the overlay config and the DaemonSet's args; returns its kubeconfig text."""
        sts, ca = self.start_sts()
        self.box = box = sandbox(self)
        c = container(daemonset()['spec']['template']['spec'])
        config_path = flag_value(c['args'], '--config')
        original = box.write_config(self.config_text, box.host(config_path))
        box.write_files(box.host(original['server']['awsAuthFile']), {})
        box.run_init(['init', f'--config={config_path}', '--feature-gates=ConfiguredInitDirectories=true'])
        extra = [f'--sts-connect-override={sts}'] + ([f'--sts-ca-file={ca}'] if ca else [])
        box.start(c['args'], extra)
        box.wait_ready(box.health_port, '/readyz', '127.0.0.1')
        return read(box.host(original['server']['generateKubeconfig']))

    def review(self, kubeconfig, token):
        body = json.dumps({'apiVersion': 'authentication.k8s.io/v1', 'kind': 'TokenReview', 'spec': {'token': token}})
        status, text = self.box.https(kubeconfig, 'POST', '?timeout=30s', body)
        answer = json.loads(text)
        if FAKE_STS:
            self.assertEqual(status, 200, text)
            self.assertIs(answer['status']['authenticated'], True, f'{text}\n{self.box.log()}')
            # role/platform/KubernetesAdmin in the config matches the path-less STS ARN.
            self.assertEqual(answer['status']['user']['username'], 'admin:alice')
            self.assertEqual(answer['status']['user']['groups'], ['system:masters'])
        else:
            self.assertEqual((status, answer['status'].get('error')), (503, 'sts_connect_failed'), text)

    def kubeconfigs(self):
        d = deploy_path('kubeconfig')
        files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith('.yaml'))
        self.assertGreaterEqual(len(files), 2)
        return files

    def exec_entry(self, kc):
        self.assertEqual(kc['kind'], 'Config')
        ctx = {c['name']: c['context'] for c in kc['contexts']}[kc['current-context']]
        self.assertIn(ctx['cluster'], {c['name'] for c in kc['clusters']})
        users = {u['name']: u['user'] for u in kc['users']}
        self.assertIn(ctx['user'], users)
        ex = users[ctx['user']]['exec']
        self.assertIn(ex['apiVersion'], ('client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'))
        if ex['apiVersion'].endswith('/v1'):
            self.assertIn(ex.get('interactiveMode'), ('Never', 'IfAvailable', 'Always'), 'required in v1')
        return ex

    def run_plugin(self, ex, binary):
        """Runs the plugin as kubectl would; returns the token."""
        profile = {e['name']: e['value'] for e in ex.get('env', [])}.get('AWS_PROFILE')
        os.makedirs(os.path.join(self.home, '.aws'), exist_ok=True)
        with open(os.path.join(self.home, '.aws', 'credentials'), 'w') as f:
            f.write(f'[{profile or "default"}]\naws_access_key_id = {self.KEY_ID}\n'
                    f'aws_secret_access_key = {self.SECRET}\n')
        env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': self.home, 'LC_ALL': 'C.UTF-8',
               'AWS_EC2_METADATA_DISABLED': 'true',
               'KUBERNETES_EXEC_INFO': json.dumps({'apiVersion': ex['apiVersion'], 'kind': 'ExecCredential',
                                                   'spec': {'interactive': False}})}
        env.update({e['name']: e['value'] for e in ex.get('env', [])})
        p = run([binary, *ex['args']], env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        cred = json.loads(p.stdout)
        self.assertEqual(cred['kind'], 'ExecCredential')
        self.assertEqual(cred['apiVersion'], ex['apiVersion'], 'kubectl refuses another version')
        token = cred['status']['token']
        self.assertTrue(token.startswith('k8s-aws-v1.'))
        encoded = token[len('k8s-aws-v1.'):]
        url = urllib.parse.urlsplit(base64.urlsafe_b64decode(encoded + '=' * (-len(encoded) % 4)).decode())
        self.assertEqual(url.hostname, f'sts.{flag_value(ex["args"], "--region")}.amazonaws.com')
        return token

    def plugins(self, command):
        """(path, exec entry) of each client kubeconfig whose plugin is `command`; at least one."""
        found = [(path, ex) for path in self.kubeconfigs()
                 for ex in [self.exec_entry(load_one(path))] if ex['command'] == command]
        self.assertGreaterEqual(len(found), 1, f'no client kubeconfig runs {command}')
        return found

    def test_stsauth_token_plugin(self):
        kubeconfig = self.start_server()
        for path, ex in self.plugins('stsauth'):
            with self.subTest(file=os.path.basename(path)):
                check_command_line(self, ex['args'], path, ('token',))
                ids = [flag_value(ex['args'], f) for f in ('--cluster-id', '-i') if flag_value(ex['args'], f)]
                self.assertEqual(ids, [self.cluster_id], 'the token must be bound to the server clusterID')
                self.review(kubeconfig, self.run_plugin(ex, STSAUTH))

    def test_aws_eks_get_token_plugin(self):
        kubeconfig = None
        for path, ex in self.plugins('aws'):
            with self.subTest(file=os.path.basename(path)):
                self.assertEqual(ex['args'][:2], ['eks', 'get-token'])
                self.assertEqual(flag_value(ex['args'], '--cluster-name'), self.cluster_id)
                aws = shutil.which('aws', path='/usr/bin') or shutil.which('aws')
                if not aws:
                    note('aws not found: `aws eks get-token` not run')
                    continue
                token = self.run_plugin(ex, aws)
                kubeconfig = kubeconfig or self.start_server()
                self.review(kubeconfig, token)


class Dockerfile(unittest.TestCase):
    """The image build, checked as text (no Docker daemon here) and by running its file set."""

    def setUp(self):
        self.text = read(deploy_path('docker', 'Dockerfile'))
        self.logical, self.stages = dockerfile_stages(self.text)

    def test_multi_stage_debian_12_build(self):
        self.assertGreaterEqual(len(self.stages), 2)
        build_from = self.stages[0][0].split()
        self.assertEqual(build_from[-2].upper(), 'AS')
        base = build_from[1]
        if base.startswith('${'):
            arg = re.search(r'^ARG ' + re.escape(base[2:-1]) + r'=(\S+)', self.text, re.M)
            self.assertTrue(arg, 'the base image ARG needs a default')
            base = arg.group(1)
        self.assertRegex(base, r'^debian:(12|bookworm)\b')
        for ins in self.stages[0][1]:
            if ins.startswith('RUN') and 'apt-get install' in ins:
                self.assertIn('--no-install-recommends', ins)
                self.assertIn('libboost1.81-dev', ins)

    def test_runtime_stage_is_minimal_and_non_root(self):
        final_from, final = self.stages[-1]
        self.assertEqual(final_from.split()[1], 'scratch')
        users = [i.split()[1] for i in final if i.upper().startswith('USER ')]
        self.assertEqual(len(users), 1)
        uid, _, gid = users[0].partition(':')
        self.assertEqual((int(uid), int(gid)), (SERVICE_UID, SERVICE_UID))
        for ins in final:
            self.assertFalse(ins.upper().startswith('RUN '), 'nothing runs in the runtime stage')
            if ins.upper().startswith('COPY '):
                self.assertIn('--from=build', ins, 'the runtime stage takes files from the build stage only')
        env = ' '.join(i for i in final if i.upper().startswith('ENV '))
        self.assertIn('SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt', env)
        exposed = {int(p) for i in final if i.upper().startswith('EXPOSE ') for p in i.split()[1:]}
        server = yaml.safe_load(base_configmap()['data']['config.yaml'])['server']
        self.assertEqual(exposed, {server['port'], server['healthPort']})

    def test_copy_sources_exist_and_are_in_the_context(self):
        ignore = [l.strip() for l in read(deploy_path('docker', 'Dockerfile.dockerignore')).splitlines()
                  if l.strip() and not l.startswith('#')]
        self.assertEqual(ignore[0], '*', 'allow-list: everything else stays out of the context')
        allowed = [l[1:].rstrip('/') for l in ignore[1:] if l.startswith('!')]
        copies = [i for _, body in self.stages[:1] for i in body if i.upper().startswith('COPY ')]
        self.assertTrue(copies)
        for ins in copies:
            sources = [s for s in ins.split()[1:-1] if not s.startswith('--')]
            for s in sources:
                s = s.rstrip('/')
                with self.subTest(source=s):
                    self.assertTrue(os.path.exists(os.path.join(REPO, s)), f'{s} is not in the repository')
                    self.assertTrue(any(s == a or s.startswith(a + '/') for a in allowed),
                                    f'{s} is excluded by Dockerfile.dockerignore')
        # Everything CMake needs to configure the server is copied.
        copied = {s.rstrip('/') for ins in copies for s in ins.split()[1:-1]}
        for needed in ('CMakeLists.txt', 'cmake', 'lib', 'server', 'config'):
            self.assertIn(needed, copied)

    def test_runtime_file_set_runs_stsauth(self):
        root = tempfile.mkdtemp(prefix='stsauth-deploy-rootfs-')
        try:
            rootfs = os.path.join(root, 'rootfs')
            p = run(['sh', deploy_path('docker', 'collect-runtime.sh'), STSAUTH, rootfs])
            self.assertEqual(p.returncode, 0, p.stderr)
            for f in ('usr/local/bin/stsauth', 'etc/ssl/certs/ca-certificates.crt', 'etc/passwd'):
                self.assertTrue(os.path.isfile(os.path.join(rootfs, f)), f)
            self.assertTrue(os.access(os.path.join(rootfs, 'usr/local/bin/stsauth'), os.X_OK))
            self.assertIn(f':{SERVICE_UID}:{SERVICE_UID}:', read(os.path.join(rootfs, 'etc/passwd')))
            chroot = shutil.which('chroot') or shutil.which('chroot', path='/usr/sbin:/sbin')
            if os.geteuid() != 0 or not chroot:
                note('not root (or no chroot): the image file set was not executed')
                return
            with open(STSAUTH, 'rb') as f:
                if b'__asan_init' in f.read():
                    # The sanitizer runtime reads its options and runs its leak check through
                    # /proc, which the chroot lacks; the image is never built with sanitizers.
                    note('sanitizer build: the image file set was not executed')
                    return
            for args, expect in ((['version'], '"Version"'), (['server', '--help'], '--state-dir')):
                p = run([chroot, f'--userspec={SERVICE_UID}:{SERVICE_UID}', rootfs, '/usr/local/bin/stsauth', *args],
                        env={'SSL_CERT_FILE': '/etc/ssl/certs/ca-certificates.crt'})
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn(expect, p.stdout)
        finally:
            shutil.rmtree(root, ignore_errors=True)


class SystemdUnit(unittest.TestCase):
    """deploy/systemd/stsauth.service: hardening options present, drain and reload wired."""

    def setUp(self):
        self.path = deploy_path('systemd', 'stsauth.service')
        self.unit = systemd_unit(self.path)

    def value(self, key):
        v = unit_values(self.unit, 'Service', key)
        self.assertEqual(len(v), 1, f'{key} set {len(v)} times')
        return v[0]

    def test_runs_as_a_non_root_user(self):
        dynamic = unit_values(self.unit, 'Service', 'DynamicUser')
        user = unit_values(self.unit, 'Service', 'User')
        self.assertTrue(dynamic == ['yes'] or (user and user[0] not in ('root', '0')))

    def test_hardening_options(self):
        required = {
            'NoNewPrivileges': 'yes', 'ProtectSystem': 'strict', 'ProtectHome': 'yes', 'PrivateTmp': 'yes',
            'PrivateDevices': 'yes', 'ProtectKernelTunables': 'yes', 'ProtectKernelModules': 'yes',
            'ProtectKernelLogs': 'yes', 'ProtectControlGroups': 'yes', 'RestrictNamespaces': 'yes',
            'RestrictRealtime': 'yes', 'RestrictSUIDSGID': 'yes', 'LockPersonality': 'yes',
            'MemoryDenyWriteExecute': 'yes', 'SystemCallArchitectures': 'native', 'CapabilityBoundingSet': '',
            'AmbientCapabilities': '', 'UMask': '0077',
        }
        for key, want in required.items():
            with self.subTest(key=key):
                self.assertEqual(self.value(key), want)
        families = self.value('RestrictAddressFamilies').split()
        self.assertEqual(set(families) - {'AF_INET', 'AF_INET6', 'AF_UNIX', 'AF_NETLINK'}, set())
        filters = unit_values(self.unit, 'Service', 'SystemCallFilter')
        self.assertIn('@system-service', filters)
        self.assertTrue(any(f.startswith('~') and '@privileged' in f for f in filters))

    def test_stop_and_reload(self):
        self.assertEqual(self.value('KillSignal'), 'SIGTERM')
        self.assertIn('-HUP', self.value('ExecReload'))
        config = yaml.safe_load(read(deploy_path('kubernetes', 'static-pod', 'config.yaml')))
        grace = duration_seconds(config['server'].get('shutdownGrace', '10s'))
        self.assertGreater(duration_seconds(self.value('TimeoutStopSec')), grace)
        self.assertEqual(unit_values(self.unit, 'Unit', 'Before'), ['kube-apiserver.service'])

    def test_systemd_analyze(self):
        analyze = shutil.which('systemd-analyze')
        if not analyze:
            note('systemd-analyze not found: unit not verified')
            return
        d = tempfile.mkdtemp(prefix='stsauth-deploy-unit-')
        try:
            unit = os.path.join(d, 'stsauth.service')
            with open(unit, 'w') as f:
                f.write(read(self.path).replace('/usr/local/bin/stsauth', os.path.abspath(STSAUTH)))
            p = run([analyze, 'verify', unit])
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertNotIn('Unknown key', p.stderr)
            p = run([analyze, 'security', '--offline=yes', unit])
            m = re.search(r'Overall exposure level for \S+: ([\d.]+)', p.stdout + p.stderr)
            if m is None:
                note('systemd-analyze security --offline not supported: exposure not checked')
                return
            self.assertLessEqual(float(m.group(1)), 2.0, p.stdout)
        finally:
            shutil.rmtree(d, ignore_errors=True)


class Docs(unittest.TestCase):
    """docs/ names what the code has: every flag, config key, env var and reason code."""

    def doc(self, name):
        return read(os.path.join(REPO, 'docs', name))

    def test_configuration_reference_lists_every_flag(self):
        text = self.doc('configuration.md')
        for sub in ((), ('server',), ('init',), ('token',), ('verify',), ('version',), ('add',), ('add', 'user'),
                    ('add', 'role'), ('access-entries',), ('access-entries', 'validate'), ('access-entries', 'list')):
            for flag in help_flags(*sub):
                if flag in ('--help', '-h'):
                    continue
                with self.subTest(command=' '.join(sub), flag=flag):
                    self.assertIn(f'`{flag}', text)

    def test_configuration_reference_lists_every_key(self):
        text = self.doc('configuration.md')
        keys = []

        def walk(node, prefix):
            for k, v in node.items():
                path = f'{prefix}.{k}' if prefix else k
                if path in ('server.mapRoles', 'server.reservedPrefixConfig'):
                    keys.append(path)
                    continue
                if isinstance(v, dict) and path != 'server.featureGates':
                    walk(v, path)
                else:
                    keys.append(path)

        walk(yaml.safe_load(read(os.path.join(REPO, 'tests', 'data', 'config', 'all-keys.yaml'))), '')
        self.assertGreater(len(keys), 40)
        for key in keys:
            with self.subTest(key=key):
                self.assertIn(f'`{key}`', text)
        for env in ('KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID', 'AWS_IAM_AUTHENTICATOR_LOG_VERBOSITY',
                    'KUBERNETES_EXEC_INFO', 'DEFAULT_ROLE'):
            self.assertIn(env, text)

    def test_operations_covers_every_reason_code(self):
        text = self.doc('operations.md')
        codes = reason_codes_from_source()
        self.assertGreater(len(codes), 50)
        for code in sorted(codes):
            with self.subTest(code=code):
                self.assertIn(f'`{code}`', text)

    def test_metric_names_are_the_code_s(self):
        text = self.doc('operations.md')
        sources = read(os.path.join(REPO, 'lib', 'metrics', 'metrics.cpp'))
        names = re.findall(r'"(stsauth_[a-z_]+)"', sources)
        names += ['aws_iam_authenticator_' + n for n in re.findall(r'ref\("([a-z_]+)"\)', sources)]
        self.assertGreater(len(names), 15)
        for name in names:
            with self.subTest(metric=name):
                self.assertIn(name, text)


    def test_every_module_is_listed(self):
        """README's layout and architecture.md's module map name every folder of lib/."""
        modules = sorted(d for d in os.listdir(os.path.join(REPO, 'lib'))
                         if os.path.isdir(os.path.join(REPO, 'lib', d)))
        self.assertGreater(len(modules), 10)
        for where, text in (('README.md', read(os.path.join(REPO, 'README.md'))),
                            ('docs/architecture.md', self.doc('architecture.md'))):
            for m in modules:
                with self.subTest(file=where, module=m):
                    self.assertRegex(text, rf'`lib/{m}`|`lib/[\w/]*`, `lib/{m}`')

    def test_routes_are_documented(self):
        """architecture.md's Listeners table names exactly the paths server/webhook.cpp routes."""
        code = read(os.path.join(REPO, 'server', 'webhook.cpp'))

        def routes(function):
            body = code[code.index(f'void webhook::{function}('):]
            body = body[:body.index('\n}\n')]
            return set(re.findall(r'path == "(/[\w/-]*)"', body))

        # server/app.cpp routes paths of its own on the TLS listener before the webhook (/authorize).
        app_routes = set(re.findall(r'req\.path\(\) == "(/[\w/-]*)"', read(os.path.join(REPO, 'server', 'app.cpp'))))
        table = markdown_sections(self.doc('architecture.md'), '##')['Listeners']
        rows = [cells for cells in doc_table_rows(table) if cells[0].startswith('`server.')]
        self.assertEqual(len(rows), 2)
        for cells, want in zip(rows, (routes('handle') | app_routes, routes('handle_health'))):
            with self.subTest(listener=cells[0]):
                documented = set(re.findall(r'(/[a-z][\w/-]*)', cells[2]))
                self.assertEqual(documented, want)

    def test_links_resolve(self):
        """Relative links in README.md, deploy/**/README.md and docs/*.md name files that exist and,
        for Markdown targets, headings that exist (GitHub's anchor spelling)."""
        def slug(heading):
            h = re.sub(r'[^\w\- ]', '', heading.strip().lower().replace('`', ''))
            return h.replace(' ', '-')

        sources = [os.path.join(REPO, 'README.md'), deploy_path('README.md'), deploy_path('apiserver', 'README.md')]
        sources += [os.path.join(REPO, 'docs', f) for f in sorted(os.listdir(os.path.join(REPO, 'docs')))
                    if f.endswith('.md')]
        checked = 0
        for src in sources:
            text = read(src)
            text = re.sub(r'```.*?```', '', text, flags=re.S)
            for target in re.findall(r'\]\(([^)\s]+)\)', text):
                if re.match(r'^[a-z]+:', target):
                    continue
                path, _, frag = target.partition('#')
                full = os.path.normpath(os.path.join(os.path.dirname(src), path)) if path else src
                checked += 1
                with self.subTest(file=os.path.relpath(src, REPO), link=target):
                    self.assertTrue(os.path.exists(full), f'{target}: no such file')
                    if frag and full.endswith('.md'):
                        anchors = {slug(h) for h in re.findall(r'^#+ (.+)$', read(full), re.M)}
                        self.assertIn(frag, anchors)
        self.assertGreater(checked, 40)

    # ---- the other direction: what the documents name exists in the code, as documented ----

    # Flags of other programs that configuration.md names (kube-apiserver, aws eks get-token).
    FOREIGN_FLAGS = {'--authorization-config', '--cluster-name'}

    def test_every_documented_flag_exists(self):
        sections = markdown_sections(self.doc('configuration.md'))
        by_section = {
            'Global flags (any subcommand, before or after it)': [()],
            '`stsauth server`': [(), ('server',)],
            '`stsauth init`': [(), ('init',)],
            '`stsauth token`': [(), ('token',)],
            '`stsauth verify`': [(), ('verify',)],
            '`stsauth add user|role`': [(), ('add',), ('add', 'user'), ('add', 'role')],
            '`stsauth version`': [(), ('version',)],
            '`stsauth access-entries validate|list`': [(), ('access-entries',), ('access-entries', 'validate'),
                                                      ('access-entries', 'list')],
        }
        self.assertEqual(set(by_section) - set(sections), set(), 'configuration.md lost a command section')
        everything = set()
        for subs in by_section.values():
            for sub in subs:
                everything |= set(help_flags(*sub))
        checked = 0
        for heading, body in sections.items():
            known = set()
            for sub in by_section.get(heading, [()]):
                known |= set(help_flags(*sub))
            if heading not in by_section:
                known = everything  # other sections may mention any command's flag
            for flag in re.findall(r'`(--?[A-Za-z][\w-]*)', body):
                if flag in self.FOREIGN_FLAGS:
                    continue
                checked += 1
                with self.subTest(section=heading, flag=flag):
                    self.assertTrue(flag in known, f'{flag} is documented under "{heading}" but --help does not list it')
        self.assertGreater(checked, 40)

    def test_flag_tables_match_the_code(self):
        """Each `stsauth server`/`init` flag row names the config key the code sets from that flag,
        and the default --help prints; the global flags' env column is the variable the code reads."""
        code = {flag: (key, env) for key, flag, env in flag_key_env_from_source()}
        self.assertGreater(len(code), 15)
        sections = markdown_sections(self.doc('configuration.md'))
        rows = 0
        for heading, sub in (('`stsauth server`', 'server'), ('`stsauth init`', 'init')):
            defaults = help_defaults(sub)
            for cells in doc_table_rows(sections[heading]):
                m = re.match(r'`(--[\w-]+)', cells[0])
                if not m or len(cells) < 3:
                    continue
                flag = m.group(1)
                rows += 1
                with self.subTest(command=sub, flag=flag):
                    key = re.match(r'`([\w.-]+)`', cells[2])
                    if key is None:  # a flag of its own, e.g. --allow-authentication-mode-downgrade
                        self.assertTrue(cells[2].startswith('—'), f'{flag}: name its config key, or — for none')
                        self.assertNotIn(flag, code, f'{flag} sets {code.get(flag, ("",))[0]}: name it')
                        continue
                    self.assertIn(flag, code, f'{flag}: apply_overrides does not set a config key from it')
                    self.assertEqual(key.group(1), code[flag][0], f'{flag} sets {code[flag][0]}, the table says {key.group(1)}')
                    want = doc_default(cells[1])
                    got = defaults.get(flag)
                    if got is not None and want is not None:
                        self.assertEqual(doc_default(f'`{got}`'), want, f'{flag}: --help default {got}')
        self.assertGreater(rows, 15)
        for cells in doc_table_rows(sections['Global flags (any subcommand, before or after it)']):
            flags = re.findall(r'`(--[\w-]+)', cells[0])
            if not flags or len(cells) < 3:
                continue
            env = re.search(r'`([A-Z][A-Z0-9_]+)`', cells[2])
            want = code.get(flags[0], (None, None))[1]
            with self.subTest(flag=flags[0]):
                self.assertEqual(env.group(1) if env else None, want)

    def test_documented_keys_are_parsed_with_their_default(self):
        text = self.doc('configuration.md')
        keys = parsed_config_keys()
        self.assertGreater(len(keys), 45)
        # configuration.md -> parser
        documented = set(re.findall(r'`(server\.[A-Za-z0-9.]+)`', text))
        for key in sorted(documented):
            with self.subTest(documented=key):
                self.assertTrue(key in keys, f'{key} is documented but server_config.cpp does not parse it')
        # parser -> configuration.md
        for key in keys:
            with self.subTest(parsed=key):
                self.assertIn(f'`{key}`', text, f'{key} is parsed but not documented')
        # defaults: every key row of the tables states the code's default
        structs = struct_defaults()
        compared = 0
        for cells in doc_table_rows(text):
            m = re.fullmatch(r'`([\w.-]+)`', cells[0])
            if not m or m.group(1) not in keys or len(cells) < 2:
                continue
            key, field = m.group(1), keys[m.group(1)]
            want = doc_default(cells[1])
            if field is None or want is None:
                continue
            compared += 1
            with self.subTest(default_of=key):
                self.assertEqual(want, code_default(field, structs), f'{key}: configuration.md says {cells[1]}')
        self.assertGreater(compared, 35)

    def test_environment_variables(self):
        text = self.doc('configuration.md')
        table = markdown_sections(text, '##')['Environment variables']
        read_by_code = env_vars_from_source()
        self.assertGreater(len(read_by_code), 20)
        for name in sorted(read_by_code):
            with self.subTest(read_by_code=name):
                self.assertTrue(f'`{name}`' in table, f'{name} is read by the code but not in the environment table')
        for cells in doc_table_rows(table):
            for name in re.findall(r'`([A-Z][A-Z0-9_]+)`', cells[0]):
                with self.subTest(documented=name):
                    self.assertTrue(name in read_by_code, f'{name} is documented but nothing reads it')

    def documents(self):
        """(name, text) of the documents and deploy files that name metrics."""
        out = [(f'docs/{n}', self.doc(n)) for n in ('operations.md', 'security.md', 'migration.md',
                                                     'architecture.md', 'configuration.md')]
        for dirpath, _, files in os.walk(deploy_path()):
            for f in files:
                out.append((os.path.relpath(os.path.join(dirpath, f), REPO), read(os.path.join(dirpath, f))))
        return out

    def test_every_documented_metric_exists(self):
        names = metric_names_from_source()
        seen = 0
        for where, text in self.documents():
            for name in set(re.findall(r'\b((?:stsauth|aws_iam_authenticator|process)_[a-z_]+[a-z])\b', text)):
                base = re.sub(r'_(bucket|count|sum)$', '', name)
                seen += 1
                with self.subTest(file=where, metric=name):
                    self.assertTrue(base in names or name in names, f'{where} names a metric the code lacks')
        self.assertGreater(seen, 25)

    def test_every_documented_reason_code_exists(self):
        """Each code in operations.md's reason sections is a string the code produces."""
        text = self.doc('operations.md')
        section = text[text.index('## Reason codes'):]
        literals = set()
        for top in ('lib', 'server'):
            for dirpath, _, files in os.walk(os.path.join(REPO, top)):
                for f in files:
                    if f.endswith(('.cpp', '.hpp')):
                        literals |= set(re.findall(r'"([a-z][a-z0-9_]*)"', read(os.path.join(dirpath, f))))
        self.assertTrue(reason_codes_from_source() <= literals | {'ok'})
        codes = set()
        for cells in doc_table_rows(section):
            codes |= set(re.findall(r'`([a-z][a-z0-9_]*)`', cells[0]))
        # the prose lists: unusable identities and malformed TokenReviews
        for para in re.findall(r'\n\n(`[a-z_]+`(?:, `[a-z_]+`)+[^\n]*(?:\n[^\n]+)*)', section):
            codes |= set(re.findall(r'`([a-z][a-z0-9_]*)`', para))
        codes |= set(re.findall(r'`([a-z][a-z0-9_]*)`', section[section.index('### Malformed requests'):]))
        codes -= {'reason', 'detail'}
        self.assertGreater(len(codes), 70)
        for code in sorted(codes):
            with self.subTest(code=code):
                self.assertTrue(code in literals, f'operations.md documents reason {code}, which no code produces')


class TestNames(unittest.TestCase):
    """Every Catch2 test case can become exactly one CTest entry. catch_discover_tests
    (Catch2 v2's CatchAddTests.cmake) splits the listed names on ';' (a name with one becomes two
    broken entries that run nothing) and passes the name back as a Catch test spec, where a
    leading or trailing '*' is a wildcard, a leading '~' an exclusion, '"' a quote and '\\' an
    escape; Catch lists a name that starts with '#' in quotes; ',' '[' ']' are escaped by the
    script and safe. Scanned from the sources, so no build is needed."""

    def test_catch_names_map_one_to_one(self):
        names = []
        for top in ('tests', 'lib', 'server'):
            for dirpath, _, files in os.walk(os.path.join(REPO, top)):
                for f in files:
                    if not f.endswith(('.cpp', '.hpp')):
                        continue
                    path = os.path.join(dirpath, f)
                    text = read(path)
                    for m in re.finditer(r'\b(?:TEST_CASE|TEST_CASE_METHOD|SCENARIO)\s*\((?:\s*\w+\s*,)?\s*"((?:[^"\\]|\\.)*)"', text):
                        names.append((os.path.relpath(path, REPO), m.group(1)))
        self.assertGreater(len(names), 300)
        seen = {}
        for where, name in names:
            with self.subTest(file=where, test=name):
                self.assertNotIn(';', name)
                self.assertNotIn('\\', name)
                self.assertEqual(name, name.strip(), 'leading or trailing white space')
                self.assertFalse(name.startswith(('*', '~', '#', '[')) or name.endswith('*'), 'a test-spec metacharacter')
                # Catch matches names case-insensitively: two names differing in case run together.
                key = (os.path.dirname(where), name.lower())
                self.assertNotIn(key, seen, f'same name (ignoring case) as in {seen.get(key)}')
                seen[key] = where

def main():
    global STSAUTH, REPO, FAKE_STS
    argv = list(sys.argv)
    values = {}
    for opt in ('--stsauth', '--repo', '--fake-sts'):
        if opt not in argv:
            continue
        i = argv.index(opt)
        values[opt] = os.path.abspath(argv[i + 1]) if argv[i + 1] else ''
        del argv[i:i + 2]
    if not values.get('--stsauth') or not values.get('--repo'):
        sys.exit(f'usage: {argv[0]} --stsauth PATH --repo DIR [--fake-sts PATH] [unittest args]')
    STSAUTH, REPO, FAKE_STS = values['--stsauth'], values['--repo'], values.get('--fake-sts') or None
    if FAKE_STS and not os.access(FAKE_STS, os.X_OK):
        FAKE_STS = None  # a target of the build that was not built (e.g. `ninja stsauth` only)
    unittest.main(argv=argv, verbosity=2)


if __name__ == '__main__':
    main()
