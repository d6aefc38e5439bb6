"""Assume ROLE_ARN through STS AssumeRoleWithWebIdentity, as configure-aws-credentials does with
GitHub's OIDC token, against the moto server at AWS_ENDPOINT_URL, and export the session."""

from __future__ import annotations

import base64
import json
import os
import re
import sys

import boto3


def _unsigned_jwt(claims: dict[str, str]) -> str:
    """moto does not verify the token's signature; the claims mirror GitHub's OIDC token."""

    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def main() -> int:
    role_arn, session, region = os.environ["ROLE_ARN"], os.environ["SESSION_NAME"], os.environ["REGION"]
    if not re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w+=,.@/-]+", role_arn):
        print(f"::error::role-to-assume {role_arn!r} is not an IAM role ARN")
        return 1
    token = _unsigned_jwt(
        {
            "iss": "https://token.actions.githubusercontent.com",
            "aud": "sts.amazonaws.com",
            "sub": f"repo:{os.environ.get('GITHUB_REPOSITORY', '')}:ref:{os.environ.get('GITHUB_REF', '')}",
        }
    )
    sts = boto3.client("sts", region_name=region, endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    credentials = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName=session, WebIdentityToken=token)[
        "Credentials"
    ]
    exported = {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        print(f"::add-mask::{exported[name]}")
    with open(os.environ["GITHUB_ENV"], "a", encoding="utf-8") as env_file:
        env_file.writelines(f"{name}={value}\n" for name, value in exported.items())
    print(f"assumed role {role_arn} as session {session}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
