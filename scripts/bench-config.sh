# Sourced by scripts/bench.sh and scripts/idle-rss.sh: the server config every benchmark
# scenario starts from, so that both measure the same server. Uses the caller's cluster_id,
# account, work (temporary directory) and fake_port (the fake STS, whose CA is $work/fake-ca.pem).
#
# write_config FILE ROLES [ADMIN_USERNAME] [EXTRA_STS_KEY] [EXTRA_SERVER_KEYS]: ROLES mapRoles
# entries, the last one mapping the fake's role Admin (the worst place for a scan).
write_config() {
  local file=$1 roles=$2 admin='admin:{{SessionName}}' extra=${4:-} server_extra=${5:-}
  [ $# -ge 3 ] && admin=$3
  {
    cat <<YAML
clusterID: $cluster_id
server:
  address: 127.0.0.1
  port: 0
  hostname: localhost
  stateDir: $work/state
  generateKubeconfig: $work/kubeconfig-$(basename "$file" .yaml).yaml
  healthPort: 0
  backendMode: [MountedFile]
  sts:
    connectOverride: 127.0.0.1:$fake_port
    caFile: $work/fake-ca.pem
${extra}
${server_extra}
  mapRoles:
YAML
    awk -v n=$((roles - 1)) -v acct=$account 'BEGIN {
      for (i = 1; i <= n; i++)
        printf "  - rolearn: arn:aws:iam::%s:role/load-role-%d\n    username: \"load-%d:{{SessionName}}\"\n    groups: [load-group-%d]\n", acct, i, i, i % 100
    }'
    cat <<YAML
  - rolearn: arn:aws:iam::$account:role/Admin
    username: "$admin"
    groups: [system:masters]
YAML
  } >"$file.tmp"
  mv "$file.tmp" "$file"
}
