#!/usr/bin/env bash
# A throw-away cluster of "hosts" on this machine: network namespaces joined by veth pairs to a bridge (in its own
# namespace, so the machine's own network is never touched), each running Debian's sshd on its own address with
# keys made here. Needs root, iproute2 and openssh-server. API (also wrapped by netns_rig.hpp):
#
#   netns_rig.sh probe                 exit 0 when `ip netns` works here (else prints why)
#   netns_rig.sh up DIR N [OWNER_PID] [homes]
#                                      create N hosts; writes DIR/rig.env (see below), keys, ssh_config, known_hosts;
#                                      `homes`: root's home on host i is DIR/home<i> (its own ~/.ssh, whose
#                                      authorized_keys sshd also reads), RIG_HOME_<i> in rig.env
#   netns_rig.sh down DIR              kill every process in the rig's namespaces, delete them, remove /etc/netns/*
#   netns_rig.sh procs DIR             list processes in the host namespaces other than their sshd ("NS PID CMD")
#   netns_rig.sh gc                    tear down rigs whose owner process is gone (left by a crashed test)
#   netns_rig.sh slurm DIR             start a Slurm cluster on the hosts (Debian slurm-wlm + munge): munged in the
#                                      bridge namespace, slurmctld on node0, a slurmd on every host (own UTS
#                                      namespace named node<i>); clients need SLURM_CONF=DIR/slurm/slurm.conf
#
# Host i (0-based) lives in namespace zt<OWNER>h<i>, has interface net<i> with address 10.77.0.<i+1>/24, is called
# node<i> (an /etc/netns/<ns>/hosts file, seen by processes started with `ip netns exec`, and by everything its sshd
# starts), and accepts root logins with DIR/id_ed25519 on port 22. DIR/id_refused is a key no host accepts
# (DIR/ssh_config_refused offers only that one).
# 10.77.0.200 (node-down) is on the subnet but answers nothing. Run clients inside a host namespace:
#   ip netns exec zt<OWNER>h0 ssh -F DIR/ssh_config node1 hostname
# DIR/ssh_config checks host keys against DIR/known_hosts (StrictHostKeyChecking yes) and never reads ~/.ssh.
set -euo pipefail

subnet=10.77.0
sshd=/usr/sbin/sshd

ns_list() {  # the namespaces of rig $1
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$1(h[0-9]+|sw)\$" || true
}

teardown_id() {
  local id=$1 ns pids
  for ns in $(ns_list "$id"); do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    if [ -n "$pids" ]; then kill -KILL $pids 2>/dev/null || true; fi
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
}

cmd=${1:-}
case "$cmd" in
probe)
  command -v ip >/dev/null || { echo "iproute2's ip is not installed"; exit 1; }
  p=ztprobe$$
  if ! err=$(ip netns add "$p" 2>&1); then echo "ip netns add failed: $err"; exit 1; fi
  ip netns del "$p"
  ;;
up)
  dir=$2; n=$3; owner=${4:-$PPID}; homes=${5:-}
  id=zt$owner
  [ -x $sshd ] || { echo "netns_rig: $sshd missing (Debian package openssh-server)" >&2; exit 1; }
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  teardown_id "$id"
  trap 'teardown_id "$id"' ERR
  mkdir -p /run/sshd  # sshd's privilege separation directory (made by the package's service script normally)
  rm -f "$dir"/id_ed25519* "$dir"/id_refused* "$dir"/host[0-9]*
  ssh-keygen -q -t ed25519 -N '' -C zt-rig-user -f "$dir/id_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C zt-rig-refused -f "$dir/id_refused"
  cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
  : >"$dir/known_hosts"
  cat >"$dir/ssh_config" <<EOF
Host *
  User root
  IdentityFile $dir/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $dir/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  PasswordAuthentication no
  KbdInteractiveAuthentication no
  LogLevel ERROR
EOF
  # the same, offering only the key no host accepts (a config file's IdentityFile adds to -i, so it needs its own)
  sed "s|IdentityFile $dir/id_ed25519|IdentityFile $dir/id_refused|" "$dir/ssh_config" >"$dir/ssh_config_refused"
  hosts="127.0.0.1 localhost"$'\n'
  for ((i = 0; i < n; i++)); do hosts+="$subnet.$((i + 1)) node$i"$'\n'; done
  hosts+="$subnet.200 node-down"$'\n'
  sw=${id}sw
  ip netns add "$sw"
  ip -n "$sw" link set lo up
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  {
    echo "RIG_ID=$id"
    echo "RIG_DIR=$dir"
    echo "RIG_N=$n"
    echo "RIG_SWITCH_NS=$sw"
    echo "RIG_SSH_CONFIG=$dir/ssh_config"
    echo "RIG_KNOWN_HOSTS=$dir/known_hosts"
    echo "RIG_KEY=$dir/id_ed25519"
    echo "RIG_REFUSED_KEY=$dir/id_refused"
    echo "RIG_SSH_CONFIG_REFUSED=$dir/ssh_config_refused"
    echo "RIG_UNREACHABLE=$subnet.200"
  } >"$dir/rig.env"
  for ((i = 0; i < n; i++)); do
    ns=${id}h$i addr=$subnet.$((i + 1))
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$sw" link add "v$i" type veth peer name "net$i" netns "$ns"
    ip -n "$sw" link set "v$i" master br0 up
    ip -n "$ns" addr add "$addr/24" dev "net$i"
    ip -n "$ns" link set "net$i" up
    mkdir -p "/etc/netns/$ns"
    printf '%s' "$hosts" >"/etc/netns/$ns/hosts"
    if [ "$homes" = homes ]; then
      # root's home as this host's passwd says (bound over /etc/passwd for its sshd and `ip netns exec` commands)
      mkdir -p "$dir/home$i"
      sed -E "s|^(root:[^:]*:0:0:[^:]*:)[^:]*:|\1$dir/home$i:|" /etc/passwd >"/etc/netns/$ns/passwd"
      echo "RIG_HOME_$i=$dir/home$i"
    fi
    ssh-keygen -q -t ed25519 -N '' -C "zt-rig-host$i" -f "$dir/host$i"
    echo "node$i,$addr $(cut -d' ' -f1,2 "$dir/host$i.pub")" >>"$dir/known_hosts"
    cat >"$dir/sshd$i.conf" <<EOF
Port 22
ListenAddress $addr
HostKey $dir/host$i
PidFile $dir/sshd$i.pid
AuthorizedKeysFile $dir/authorized_keys${homes:+ .ssh/authorized_keys}
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
MaxStartups 200
MaxSessions 100
LogLevel VERBOSE
EOF
    echo "RIG_NS_$i=$ns"
    echo "RIG_ADDR_$i=$addr"
    echo "RIG_NAME_$i=node$i"
    echo "RIG_IF_$i=net$i"
  done >>"$dir/rig.env"
  for ((i = 0; i < n; i++)); do
    ip netns exec "${id}h$i" $sshd -f "$dir/sshd$i.conf" -E "$dir/sshd$i.log"
  done
  # Every host must answer ssh from host 0 before the rig is handed out.
  for ((i = 0; i < n; i++)); do
    ok=0
    for ((t = 0; t < 50; t++)); do
      if ip netns exec "${id}h0" ssh -F "$dir/ssh_config" -o BatchMode=yes -o ConnectTimeout=2 "node$i" true 2>"$dir/probe$i.err"; then
        ok=1
        break
      fi
      sleep 0.1
    done
    if [ $ok = 0 ]; then
      echo "netns_rig: ssh to node$i failed: $(cat "$dir/probe$i.err")" >&2
      tail -5 "$dir/sshd$i.log" >&2 || true
      teardown_id "$id"
      exit 1
    fi
  done
  ;;
down)
  dir=$2
  [ -f "$dir/rig.env" ] || exit 0
  id=$(sed -n 's/^RIG_ID=//p' "$dir/rig.env")
  teardown_id "$id"
  ;;
procs)
  dir=$2
  . "$dir/rig.env"
  keep=" $(cat "$dir"/*.pid "$dir"/slurm/*.pid 2>/dev/null | tr '\n' ' ' || true) "  # the rig's own daemons
  ctld=" $(cat "$dir"/slurm/slurmctld.pid 2>/dev/null || true) "
  for ((i = 0; i < RIG_N; i++)); do
    ns_var=RIG_NS_$i
    ns=${!ns_var}
    for pid in $(ip netns pids "$ns"); do
      case "$keep" in *" $pid "*) continue ;; esac
      ppid=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
      case "$ctld" in *" $ppid "*) continue ;; esac  # slurmctld's slurmscriptd
      echo "$ns $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    done
  done
  ;;
slurm)
  dir=$2
  . "$dir/rig.env"
  s=$dir/slurm
  for p in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd; do
    [ -x $p ] || { echo "netns_rig: $p missing (Debian packages slurm-wlm and munge)" >&2; exit 1; }
  done
  mkdir -p "$s/state" "$s/log"
  dd if=/dev/urandom of="$s/munge.key" bs=1024 count=1 status=none
  chmod 600 "$s/munge.key"
  nodes=""
  for ((i = 0; i < RIG_N; i++)); do
    nodes+="NodeName=node$i NodeAddr=$subnet.$((i + 1)) CPUs=$(nproc) State=UNKNOWN"$'\n'
    mkdir -p "$s/spool.node$i"
  done
  cat >"$s/slurm.conf" <<EOF
ClusterName=ztrig
SlurmctldHost=node0($subnet.1)
AuthType=auth/munge
AuthInfo=socket=$s/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$s/state
SlurmdSpoolDir=$s/spool.%n
SlurmctldPidFile=$s/slurmctld.pid
SlurmdPidFile=$s/slurmd.%n.pid
SlurmctldLogFile=$s/log/slurmctld.log
SlurmdLogFile=$s/log/slurmd.%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
SelectType=select/linear
${nodes}PartitionName=rig Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$s/slurm.conf
  ip netns exec "$RIG_SWITCH_NS" /usr/sbin/munged -f --socket="$s/munge.sock" --key-file="$s/munge.key" \
    --pid-file="$s/munged.pid" --log-file="$s/log/munged.log" --seed-file="$s/munge.seed"
  ip netns exec "${RIG_ID}h0" unshare --uts sh -c "hostname node0; exec /usr/sbin/slurmctld -f $SLURM_CONF"
  # slurmd keeps the machine's mount namespace (nsenter, not ip netns exec, which remounts /sys without the
  # cgroup hierarchy slurmd needs); its own UTS namespace gives it its node name.
  for ((i = 0; i < RIG_N; i++)); do
    nsenter --net="/run/netns/${RIG_ID}h$i" unshare --uts sh -c "hostname node$i; exec /usr/sbin/slurmd -f $SLURM_CONF"
  done
  for ((t = 0; t < 100; t++)); do
    idle=$(ip netns exec "${RIG_ID}h0" sinfo -h -o '%t %D' 2>/dev/null | awk '$1 == "idle" {print $2}')
    [ "$idle" = "$RIG_N" ] && exit 0
    sleep 0.1
  done
  echo "netns_rig: the Slurm nodes did not become idle:" >&2
  ip netns exec "${RIG_ID}h0" sinfo >&2 || true
  tail -n 5 "$s"/log/*.log >&2 || true
  exit 1
  ;;
gc)
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^zt[0-9]+(h[0-9]+|sw)$' || true); do
    owner=$(echo "$ns" | sed -E 's/^zt([0-9]+)(h[0-9]+|sw)$/\1/')
    [ -d "/proc/$owner" ] || teardown_id "zt$owner"
  done
  ;;
*)
  sed -n '2,20p' "$0"
  exit 2
  ;;
esac
