# stsauth_arn: the partition table is checked against the ARN library's list.
set(UNIT_LIBS stsauth_arn)
