#!/usr/bin/env python3
"""Presigns STS GetCallerIdentity with botocore exactly as `aws eks get-token` does, at a fixed time.

This is the independent reference for `stsauth token`: same STS client, same event handlers adding
the signed `x-k8s-aws-id` header (awscli/customizations/eks/get_token.py), `HttpMethod='GET'`,
`ExpiresIn=60`. Credentials and region come from botocore's own resolution of the current
environment (AWS_* variables, shared files), or from --profile / --region when given.

Usage: botocore_presign.py --cluster-id ID --time YYYYMMDDTHHMMSSZ [--region R] [--profile P]
Prints the presigned URL on stdout.

botocore's own (pure Python) SigV4 signer is forced with BOTO_DISABLE_CRT: when python3-awscrt is
installed, Debian's botocore otherwise signs through the CRT, which orders the X-Amz-* parameters
differently (Date, SignedHeaders, Expires) and ignores the frozen clock. `aws eks get-token` itself
(Debian's awscli 2.9) produces the pure-Python order: ...&X-Amz-Date&X-Amz-Expires&
X-Amz-SignedHeaders[&X-Amz-Security-Token]&X-Amz-Signature.
"""
import argparse
import datetime
import os
import sys

os.environ['BOTO_DISABLE_CRT'] = 'true'  # before botocore is imported: it decides at import time

K8S_AWS_ID_HEADER = 'x-k8s-aws-id'
URL_TIMEOUT = 60


def freeze_time(fixed):
    """Makes botocore's signers see `fixed` (a naive UTC datetime) as the current time."""
    import botocore.auth

    class frozen_datetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return fixed

        @classmethod
        def now(cls, tz=None):
            return fixed.replace(tzinfo=datetime.timezone.utc) if tz else fixed

    class frozen_module:
        pass

    for name in dir(datetime):
        if not name.startswith('__'):
            setattr(frozen_module, name, getattr(datetime, name))
    frozen_module.datetime = frozen_datetime

    botocore.auth.datetime = frozen_module  # botocore <= 1.3x: datetime.datetime.utcnow()
    if hasattr(botocore.auth, 'get_current_datetime'):  # newer botocore
        botocore.auth.get_current_datetime = lambda *a, **k: fixed


def presign(cluster_id, when, region=None, profile=None):
    import botocore.compat
    import botocore.session

    assert not botocore.compat.HAS_CRT, 'the CRT signer is still enabled'

    # `aws eks get-token` and stsauth both use the regional endpoint (older botocore defaults to
    # the global one for us-east-1 unless told otherwise).
    os.environ['AWS_STS_REGIONAL_ENDPOINTS'] = 'regional'
    freeze_time(when)
    session = botocore.session.get_session()
    if profile is not None:
        session.set_config_variable('profile', profile)
    sts = session.create_client('sts', region_name=region)

    def retrieve_k8s_aws_id(params, context, **kwargs):
        if K8S_AWS_ID_HEADER in params:
            context[K8S_AWS_ID_HEADER] = params.pop(K8S_AWS_ID_HEADER)

    def inject_k8s_aws_id_header(request, **kwargs):
        if K8S_AWS_ID_HEADER in request.context:
            request.headers[K8S_AWS_ID_HEADER] = request.context[K8S_AWS_ID_HEADER]

    sts.meta.events.register('provide-client-params.sts.GetCallerIdentity', retrieve_k8s_aws_id)
    sts.meta.events.register('before-sign.sts.GetCallerIdentity', inject_k8s_aws_id_header)
    return sts.generate_presigned_url('get_caller_identity', Params={K8S_AWS_ID_HEADER: cluster_id},
                                      ExpiresIn=URL_TIMEOUT, HttpMethod='GET')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cluster-id', required=True)
    parser.add_argument('--time', required=True, help='signing time, YYYYMMDDTHHMMSSZ (UTC)')
    parser.add_argument('--region')
    parser.add_argument('--profile')
    args = parser.parse_args()
    when = datetime.datetime.strptime(args.time, '%Y%m%dT%H%M%SZ')
    print(presign(args.cluster_id, when, args.region, args.profile))
    return 0


if __name__ == '__main__':
    sys.exit(main())
