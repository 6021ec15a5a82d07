#!/bin/sh
# Builds a fake "ECS instance" as a directory tree for the containment tests: its own passwd,
# group, shadow, /etc/ssh (fresh host key, sshd_config on a loopback port), /root, /home, /run
# and /var/lib, to be used through run-in-instance.sh and start-sshd.sh. Never touches the host.
#
# make-instance.sh DIR PORT [options]
#   --key USER=PUBFILE        append PUBFILE's key to USER's ~/.ssh/authorized_keys; root's copy
#                             gets cloud-init's disable_root prefix (options with a forced command)
#   --root-sleep N            seconds the root forced command sleeps (cloud-init uses 10; default 0)
#   --revoked-keys PATH       sshd_config gets "RevokedKeys PATH" and PATH an empty flat key list
#   --revoked-krl PATH        the same with an empty binary KRL (ssh-keygen -k)
#   --authorized-keys-file V  sshd_config gets "AuthorizedKeysFile V" (default: sshd's default)
#   --no-include              no "Include /etc/ssh/sshd_config.d/*.conf" line
#   --prepend-config LINE     LINE goes first in sshd_config (before the Include)
#   --append-config LINE      LINE goes last in sshd_config
# Accounts: root, daemon (home /usr/sbin), sshd (privilege separation), alice (1000), bob (1001),
# nohome (1002, home missing), nobody (home /nonexistent). PATHs are as seen inside the instance.

set -eu

usage() {
        echo "usage: make-instance.sh DIR PORT [--key USER=PUBFILE]... [--root-sleep N]" >&2
        echo "       [--revoked-keys PATH | --revoked-krl PATH] [--authorized-keys-file V]" >&2
        echo "       [--no-include] [--prepend-config LINE]... [--append-config LINE]..." >&2
        exit 2
}

[ $# -ge 2 ] || usage
DIR=$1
PORT=$2
shift 2
case $PORT in '' | *[!0-9]*) usage ;; esac

KEYS=""
ROOT_SLEEP=0
REVOKED=""
REVOKED_KIND=""
AKF=""
INCLUDE=yes
PREPEND=""
APPEND=""
NL='
'
while [ $# -gt 0 ]; do
        [ $# -ge 2 ] || [ "$1" = --no-include ] || usage
        case $1 in
        --key) KEYS="$KEYS$2$NL" ;;
        --root-sleep) ROOT_SLEEP=$2 ;;
        --revoked-keys) REVOKED=$2 REVOKED_KIND=flat ;;
        --revoked-krl) REVOKED=$2 REVOKED_KIND=krl ;;
        --authorized-keys-file) AKF=$2 ;;
        --no-include) INCLUDE=no; shift; continue ;;
        --prepend-config) PREPEND="$PREPEND$2$NL" ;;
        --append-config) APPEND="$APPEND$2$NL" ;;
        *) usage ;;
        esac
        shift 2
done
case $ROOT_SLEEP in '' | *[!0-9]*) usage ;; esac
case $REVOKED in '' | /etc/ssh/*) ;; *) echo "make-instance.sh: the RevokedKeys path must be under /etc/ssh" >&2; exit 2 ;; esac

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)
[ -z "$(ls -A "$DIR")" ] || { echo "make-instance.sh: $DIR is not empty" >&2; exit 2; }
chmod 0755 "$DIR"

mkdir -p "$DIR/etc/ssh/sshd_config.d" "$DIR/root" "$DIR/home/alice" "$DIR/home/bob" \
        "$DIR/run/sshd" "$DIR/var/lib"
chmod 0700 "$DIR/root"
chmod 0755 "$DIR/run/sshd" "$DIR/home"

cat >"$DIR/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
sshd:x:100:65534::/run/sshd:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:1001:Bob:/home/bob:/bin/sh
nohome:x:1002:1002:No Home:/home/nohome:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat >"$DIR/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
alice:x:1000:
bob:x:1001:
nohome:x:1002:
nogroup:x:65534:
GROUP
# "*": no password, but not locked ("!"), which sshd (without PAM) would refuse.
cat >"$DIR/etc/shadow" <<'SHADOW'
root:*:19700:0:99999:7:::
daemon:*:19700:0:99999:7:::
sshd:!:19700::::::
alice:*:19700:0:99999:7:::
bob:*:19700:0:99999:7:::
nohome:*:19700:0:99999:7:::
nobody:*:19700:0:99999:7:::
SHADOW
chmod 0644 "$DIR/etc/passwd" "$DIR/etc/group"
chmod 0600 "$DIR/etc/shadow"

chown 1000:1000 "$DIR/home/alice"
chown 1001:1001 "$DIR/home/bob"
chmod 0750 "$DIR/home/alice" "$DIR/home/bob"

# One ed25519 host key: fast to make, and all a loopback client needs.
ssh-keygen -q -t ed25519 -N '' -C "host@$PORT" -f "$DIR/etc/ssh/ssh_host_ed25519_key"

{
        printf '%s' "$PREPEND"
        if [ "$INCLUDE" = yes ]; then echo "Include /etc/ssh/sshd_config.d/*.conf"; fi
        echo "Port $PORT"
        echo "ListenAddress 127.0.0.1"
        echo "HostKey /etc/ssh/ssh_host_ed25519_key"
        echo "PidFile /run/sshd.pid"
        echo "UsePAM no"
        echo "PermitRootLogin prohibit-password"
        echo "StrictModes yes"
        echo "PasswordAuthentication no"
        echo "KbdInteractiveAuthentication no"
        echo "PrintMotd no"
        echo "PrintLastLog no"
        if [ -n "$AKF" ]; then echo "AuthorizedKeysFile $AKF"; fi
        if [ -n "$REVOKED" ]; then echo "RevokedKeys $REVOKED"; fi
        printf '%s' "$APPEND"
} >"$DIR/etc/ssh/sshd_config"
chmod 0644 "$DIR/etc/ssh/sshd_config"

case $REVOKED_KIND in
flat) echo "# revoked keys, one per line" >"$DIR$REVOKED" ;;
krl) ssh-keygen -q -k -f "$DIR$REVOKED" ;;
esac
if [ -n "$REVOKED" ]; then chmod 0644 "$DIR$REVOKED"; fi

while IFS= read -r spec; do
        [ -n "$spec" ] || continue
        user=${spec%%=*}
        pub=${spec#*=}
        IFS=: read -r uid gid home <<ACCOUNT
$(awk -F: -v u="$user" '$1 == u { print $3 ":" $4 ":" $6 }' "$DIR/etc/passwd")
ACCOUNT
        [ -n "$home" ] || { echo "make-instance.sh: no account '$user'" >&2; exit 2; }
        key=$(cat "$pub")
        mkdir -p "$DIR$home/.ssh"
        if [ "$user" = root ]; then
                printf 'no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command="echo '\''Please login as the user \\"alice\\" rather than the user \\"root\\".'\'';echo;sleep %s;exit 142" %s\n' \
                        "$ROOT_SLEEP" "$key"
        else
                printf '%s\n' "$key"
        fi >>"$DIR$home/.ssh/authorized_keys"
        chown "$uid:$gid" "$DIR$home/.ssh" "$DIR$home/.ssh/authorized_keys"
        chmod 0700 "$DIR$home/.ssh"
        chmod 0600 "$DIR$home/.ssh/authorized_keys"
done <<SPECS
$KEYS
SPECS
