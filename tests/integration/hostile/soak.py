#!/usr/bin/env python3
"""Soak run of `stsauth server` (scripts/soak.sh is the entry point; docs/reliability.md).

Starts stsauth-fake-sts and `stsauth server` on 127.0.0.1 (ephemeral ports, a temporary directory),
sends mixed traffic at a fixed rate for N minutes over keep-alive TLS connections, samples the
server's RSS and open file descriptors every few seconds, prints one table and a verdict.

Traffic mix per request (drawn at random, seeded): 40% a new valid token (botocore presigned,
mapped: authenticated), 25% a token sent earlier (answered from the identity cache), 10% an
unmapped principal (STS says yes, the mapping no), 15% tokens refused locally (expired, bad
host, CVE-2022-2385 duplicate, bad base64), 5% malformed TokenReviews (400), 5% a new connection
for the request (handshake churn). Every answer is checked against the outcome its kind must have.

Bounded: --minutes at most 120, --rate at most 500, every request has a 15 s timeout; nothing
leaves 127.0.0.1. Verdict: FAIL if any answer is wrong or any request failed, if the RSS grew by
more than --max-rss-growth-mib between the first sample after the warm-up and the mean of the
last three, or the FD count by more than --max-fd-growth.
"""

import argparse
import datetime
import http.client
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import harness  # noqa: E402
from harness import (ADMIN_ARN, BOB_ARN, MALLORY_ARN, FakeCert, FakeSts, Server, presign, token_to_url,  # noqa: E402
                     url_to_token)


def config(health_port):
    head = harness.config_head("tests/integration/hostile/soak.py", health_port)
    return head + f"""  sts: {{timeout: 5s, cacheTTL: 60s}}
  mapRoles:
  - rolearn: arn:aws:iam::111122223333:role/Admin
    username: "admin:{{{{SessionName}}}}"
    groups: [system:masters]
  mapUsers:
  - userarn: {BOB_ARN}
    username: bob
    groups: [developers]
"""


def proc_sample(pid):
    rss_kib = 0
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss_kib = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss_kib / 1024.0, fds


class Traffic:
    def __init__(self, server, creds, rate, seconds, seed):
        self.server = server
        self.creds = creds
        self.rate = rate
        self.deadline = time.monotonic() + seconds
        self.max_requests = int(rate * seconds) + 1
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.sent = 0
        self.counts = {}
        self.wrong = []
        self.failures = []
        self.recent = []
        self.started = time.monotonic()

    def next_slot(self):
        with self.lock:
            if self.sent >= self.max_requests:
                return None
            due = self.started + self.sent / self.rate
            self.sent += 1
            kind = self.rng.random()
            return due, kind

    def pick(self, draw):
        """(kind, body, expected status, expected check) for one draw in [0, 1)."""
        now = datetime.datetime.now(datetime.timezone.utc)
        when = now - datetime.timedelta(seconds=random.randint(0, 120))
        if draw < 0.40:
            cred = self.creds[random.choice([ADMIN_ARN, BOB_ARN])]
            token = presign(cred, when=when)
            with self.lock:
                self.recent.append(token)
                del self.recent[:-200]
            return "valid", token, 200, True
        if draw < 0.65:
            with self.lock:
                token = random.choice(self.recent) if self.recent else None
            if token is None:
                return self.pick(0.0)
            return "cached", token, 200, True
        if draw < 0.75:
            return "unmapped", presign(self.creds[MALLORY_ARN], when=when), 200, "not_mapped"
        if draw < 0.90:
            good = token_to_url(presign(self.creds[BOB_ARN], when=when))
            variant = random.randrange(4)
            if variant == 0:
                return "local", presign(self.creds[BOB_ARN], when=now - datetime.timedelta(minutes=20)), 200, "expired"
            if variant == 1:
                return "local", url_to_token(good.replace("amazonaws.com/", "amazonaws.com.evil.example/", 1)), 200, \
                    "bad_host"
            if variant == 2:
                return "local", url_to_token(good + "&x-amz-credential=AKIDEXAMPLE"), 200, "duplicate_parameter"
            return "local", url_to_token(good) + "=", 200, "bad_base64"
        if draw < 0.95:
            return "malformed", None, 400, None
        return "reconnect", presign(self.creds[BOB_ARN], when=when), 200, True

    def worker(self):
        conn = None
        while time.monotonic() < self.deadline:
            slot = self.next_slot()
            if slot is None:
                return
            due, draw = slot
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if time.monotonic() >= self.deadline:
                return
            kind, token, status, expect = self.pick(draw)
            try:
                if kind == "reconnect" and conn is not None:
                    conn.close()
                    conn = None
                conn = conn or self.server.connection(timeout=15)
                if kind == "malformed":
                    resp = self.server.request("POST", "/authenticate", b'{"kind":"TokenReview","spec":[]}',
                                               {"Content-Type": "application/json"}, conn=conn)
                else:
                    resp = self.server.review(token, conn=conn)
                ok = resp.status == status
                if ok and expect is True:
                    ok = resp.json()["status"]["authenticated"] is True
                elif ok and isinstance(expect, str):
                    ok = resp.json()["status"].get("error") == expect
                with self.lock:
                    self.counts[kind] = self.counts.get(kind, 0) + 1
                    if not ok:
                        self.wrong.append((kind, resp.status, resp.body[:200]))
            except (OSError, http.client.HTTPException, ValueError) as e:
                with self.lock:
                    self.failures.append((kind, repr(e)))
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stsauth", required=True)
    p.add_argument("--fake", required=True)
    p.add_argument("--credentials", required=True)
    p.add_argument("--minutes", type=float, default=1.0)
    p.add_argument("--rate", type=float, default=20.0, help="requests per second")
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--sample-s", type=float, default=5.0)
    p.add_argument("--warmup-s", type=float, default=20.0, help="RSS/FD baseline taken after this")
    p.add_argument("--max-rss-growth-mib", type=float, default=8.0)
    p.add_argument("--max-fd-growth", type=int, default=4)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    if not 0 < args.minutes <= 120 or not 0 < args.rate <= 500 or not 1 <= args.connections <= 64:
        p.error("bounds: 0 < --minutes <= 120, 0 < --rate <= 500, 1 <= --connections <= 64")
    harness.ARGS = argparse.Namespace(stsauth=os.path.abspath(args.stsauth), fake=os.path.abspath(args.fake),
                                      credentials=os.path.abspath(args.credentials), aws="", python=sys.executable,
                                      source_dir=os.path.abspath(os.path.join(HERE, "..", "..", "..")), keep=False)
    random.seed(args.seed)
    creds, _ = harness.load_credentials(args.credentials)
    workdir = tempfile.mkdtemp(prefix="stsauth-soak-")
    fake = server = None
    seconds = args.minutes * 60
    try:
        cert = FakeCert(workdir)
        fake = FakeSts(cert, workdir).start()
        server = Server(workdir, config(harness.free_port()), fake=fake, verbosity="info").start()
        pid = server.proc.pid
        traffic = Traffic(server, creds, args.rate, seconds, args.seed)
        threads = [threading.Thread(target=traffic.worker, daemon=True) for _ in range(args.connections)]
        print(f"soak: {args.minutes:g} min at {args.rate:g} req/s over {args.connections} connections; "
              f"server pid {pid}; started {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%dT%H:%M:%SZ}",
              flush=True)
        print(f"{'t_s':>7} {'requests':>9} {'rss_mib':>8} {'fds':>5} {'wrong':>6} {'failed':>7} {'sts_total':>10} "
              f"{'cache_entries':>13}", flush=True)
        for t in threads:
            t.start()
        samples = []
        start = time.monotonic()
        while True:
            elapsed = time.monotonic() - start
            rss, fds = proc_sample(pid)
            with traffic.lock:
                row = (elapsed, sum(traffic.counts.values()), rss, fds, len(traffic.wrong), len(traffic.failures))
            samples.append(row)
            entries = harness.metric(harness.parse_metrics(server.health("/metrics").text), "stsauth_cache_entries")
            print(f"{row[0]:7.1f} {row[1]:9d} {row[2]:8.2f} {row[3]:5d} {row[4]:6d} {row[5]:7d} "
                  f"{fake.stats()['total']:10d} {int(entries):13d}", flush=True)
            if elapsed >= seconds or not any(t.is_alive() for t in threads):
                break
            time.sleep(min(args.sample_s, max(0.1, seconds - elapsed)))
        for t in threads:
            t.join(timeout=30)
        rss, fds = proc_sample(pid)
        samples.append((time.monotonic() - start, sum(traffic.counts.values()), rss, fds, len(traffic.wrong),
                        len(traffic.failures)))
        exit_code = server.stop()
        after_warmup = [s for s in samples if s[0] >= min(args.warmup_s, seconds / 4)] or samples
        base = after_warmup[0]
        tail = samples[-3:]
        rss_growth = sum(s[2] for s in tail) / len(tail) - base[2]
        fd_growth = max(s[3] for s in tail) - base[3]
        peak_rss = max(s[2] for s in samples)
        total = sum(traffic.counts.values())
        print(f"counts {json.dumps(traffic.counts, sort_keys=True)} total={total} "
              f"achieved_rate={total / max(1e-9, samples[-1][0]):.1f}/s")
        print(f"rss_mib first_after_warmup={base[2]:.2f} last3_mean={base[2] + rss_growth:.2f} growth={rss_growth:+.2f} "
              f"peak={peak_rss:.2f} (bound +{args.max_rss_growth_mib:g})")
        print(f"fds first_after_warmup={base[3]} last3_max={base[3] + fd_growth} growth={fd_growth:+d} "
              f"(bound +{args.max_fd_growth})")
        problems = []
        if traffic.wrong:
            problems.append(f"{len(traffic.wrong)} wrong answers, first {traffic.wrong[:3]}")
        if traffic.failures:
            problems.append(f"{len(traffic.failures)} failed requests, first {traffic.failures[:3]}")
        if rss_growth > args.max_rss_growth_mib:
            problems.append(f"RSS grew {rss_growth:.2f} MiB")
        if fd_growth > args.max_fd_growth:
            problems.append(f"FD count grew by {fd_growth}")
        if total < 0.8 * args.rate * seconds:
            problems.append(f"only {total} requests of {int(args.rate * seconds)} due")
        if exit_code != 0:
            problems.append(f"server exited {exit_code} on SIGTERM")
        for need in ("valid", "cached", "local"):
            if seconds >= 20 and not traffic.counts.get(need):
                problems.append(f"no {need} request was sent")
        print("verdict: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)), flush=True)
        return 0 if not problems else 1
    finally:
        if server is not None:
            server.stop()
        if fake is not None:
            fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
