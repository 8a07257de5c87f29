#!/usr/bin/env python3
"""The secrets check of the integration suites (SPEC-decisions A8; issue: secrets).

Reads the per-run directory the harness fills (tests/integration/server/harness.py, with
STSAUTH_INTEG_RUN_DIR set): <run>/tokens (every token minted or sent, JSON strings one a line),
<run>/logs (every server and fake STS log, at debug level) and <run>/outputs (every answer body:
reviews, /metrics, health). Fails if any 16-character piece of a secret appears in a log or an
output. Secrets: each token (whole), the secret parts of its presigned URL (the signature and the
security token, raw and percent-encoded, and every 16 characters of the URL that overlap them),
and the secret keys and session tokens of the credentials files given.

Not secrets (they are in every answer by design): access key ids, ARNs, the STS host and the
fixed parameter names of a presigned URL.
"""

import argparse
import json
import os
import sys
import urllib.parse

import yaml

WINDOW = 16
PREFIX = "k8s-aws-v1."


def windows(text):
    return {text[i:i + WINDOW] for i in range(0, len(text) - WINDOW + 1)}


def url_secret_windows(url):
    """Windows of the URL that overlap the value of X-Amz-Signature or X-Amz-Security-Token,
    plus those values decoded."""
    out = set()
    query = urllib.parse.urlsplit(url).query if "?" in url else ""
    start = url.find("?") + 1
    pos = start
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        vstart = pos + len(key) + 1
        if key.lower() in ("x-amz-signature", "x-amz-security-token") and value:
            lo = max(0, vstart - WINDOW + 1)
            hi = min(len(url), vstart + len(value) + WINDOW - 1)
            out |= windows(url[lo:hi])
            out |= windows(urllib.parse.unquote_plus(value))
        pos += len(pair) + 1
    return out


def token_secrets(token):
    out = set()
    if len(token) >= WINDOW:
        out |= windows(token)
    if token.startswith(PREFIX):
        payload = token[len(PREFIX):]
        try:
            import base64
            url = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("utf-8", errors="replace")
        except (ValueError, TypeError):
            url = ""
        if url:
            out |= url_secret_windows(url)
    return out


def credential_secrets(path):
    out = set()
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    for c in doc.get("credentials", []):
        for key in ("secretAccessKey", "sessionToken"):
            value = c.get(key) or ""
            if value:
                out |= windows(value)
                out |= windows(urllib.parse.quote(value, safe="-_.~"))
    return out


def scan(paths, secrets):
    """[(path, offset, piece)] of every secret window found."""
    found = []
    for path in paths:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
        for i in range(0, len(text) - WINDOW + 1):
            piece = text[i:i + WINDOW]
            if piece in secrets:
                found.append((path, i, piece))
                break  # one per file is enough to fail; keep the report short
    return found


def files_under(directory):
    out = []
    for root, _, names in os.walk(directory):
        out += [os.path.join(root, n) for n in sorted(names)]
    return out


def self_test(secrets_from_creds):
    """The scanner must find a planted piece of a token and of a secret key, and nothing in clean text."""
    import tempfile
    token = PREFIX + "aHR0cHM6Ly9zdHMudXMtd2VzdC0yLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZYLUFtei1TaWduYXR1cmU9" \
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg"
    secrets = token_secrets(token) | secrets_from_creds
    with tempfile.TemporaryDirectory() as d:
        clean = os.path.join(d, "clean.log")
        leak_token = os.path.join(d, "token.log")
        leak_sig = os.path.join(d, "sig.log")
        with open(clean, "w") as f:
            f.write("review outcome=denied reason=bad_host arn= action=GetCallerIdentity X-Amz-Signature=[redacted]\n")
        with open(leak_token, "w") as f:
            f.write("x " + token[30:47] + " y\n")
        with open(leak_sig, "w") as f:
            f.write("sig 456789abcdef0123 z\n")
        if scan([clean], secrets):
            return "the clean text was reported"
        if not scan([leak_token], secrets):
            return "a planted token piece was not found"
        if not scan([leak_sig], secrets):
            return "a planted signature piece was not found"
        if secrets_from_creds:
            piece = next(iter(secrets_from_creds))
            leak_key = os.path.join(d, "key.log")
            with open(leak_key, "w") as f:
                f.write("k " + piece + "\n")
            if not scan([leak_key], secrets):
                return "a planted secret key piece was not found"
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run-dir", required=True)
    p.add_argument("--credentials", action="append", default=[])
    p.add_argument("--min-tokens", type=int, default=1, help="fail if fewer tokens were recorded")
    p.add_argument("--min-logs", type=int, default=2, help="fail if fewer log files were recorded")
    args = p.parse_args()

    cred_secrets = set()
    for path in args.credentials:
        cred_secrets |= credential_secrets(path)
    problem = self_test(cred_secrets)
    if problem:
        print(f"FAIL: scanner self-test: {problem}")
        return 1

    tokens = []
    for path in files_under(os.path.join(args.run_dir, "tokens")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    tokens.append(json.loads(line))
    secrets = set(cred_secrets)
    for t in set(tokens):
        secrets |= token_secrets(t)
    logs = files_under(os.path.join(args.run_dir, "logs"))
    outputs = files_under(os.path.join(args.run_dir, "outputs"))
    size = sum(os.path.getsize(x) for x in logs + outputs)
    print(f"secrets check: {len(set(tokens))} distinct tokens, {len(secrets)} secret 16-character pieces; "
          f"{len(logs)} logs and {len(outputs)} answer files, {size} bytes")
    if len(set(tokens)) < args.min_tokens or len(logs) < args.min_logs:
        print(f"FAIL: too little recorded (at least {args.min_tokens} tokens and {args.min_logs} logs expected): "
              "did the integration suites run with STSAUTH_INTEG_RUN_DIR?")
        return 1
    found = scan(logs + outputs, secrets)
    for path, offset, piece in found:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
        print(f"LEAK in {path} at {offset}: ...{text[max(0, offset - 80):offset + 96]!r}...")
    if found:
        print(f"FAIL: {len(found)} file(s) hold a piece of a secret")
        return 1
    print("PASS: no token, presigned URL secret, signature, security token or secret key in any log or answer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
