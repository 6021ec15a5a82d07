#!/bin/sh
# The on-instance containment script (agent/instance/contain.sh) against real sshds: fake
# instances (tests/instance) each run /usr/sbin/sshd on a loopback port, and a real ssh client
# shows the revoked key logging in before and refused after, while other keys still work. Checks
# the files it rewrites line by line, what it leaves alone, RevokedKeys set up in each way sshd
# can have it (none, flat list, KRL, no sshd_config.d), rollbacks, reruns, runs of one key set
# that add up, and invalid input, under dash and bash. Prints PASS/FAIL per check; exit 0 when all pass, 1 otherwise.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
SCRIPT="$top_srcdir/agent/instance/contain.sh"
STRIP="$top_srcdir/agent/instance/strip.sed"
INST="$top_srcdir/tests/instance"
unset SSH_AUTH_SOCK

T=$(mktemp -d /tmp/keyrevoke-contain.XXXXXX) || exit 1
chmod 0755 "$T"
INSTANCES=""
FAILS=0
CHECKS=0

cleanup() {
        for d in $INSTANCES; do sh "$INST/stop-sshd.sh" "$d" || true; done
        if [ "${KR_KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

pass() {
        CHECKS=$((CHECKS + 1))
        echo "PASS: $*"
}
fail() {
        CHECKS=$((CHECKS + 1))
        FAILS=$((FAILS + 1))
        echo "FAIL: $*"
}
# check DESCRIPTION CMD...: PASS when CMD succeeds.
check() {
        desc=$1
        shift
        if "$@"; then pass "$desc"; else fail "$desc"; fi
}
die() {
        echo "FAIL: $*"
        exit 1
}

# A loopback port nobody listens on (from /proc/net/tcp*), different for each call.
PORT=$((20000 + $$ % 20000))
next_port() {
        while awk -v p="$(printf '%04X' "$PORT")" 'FNR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == p) f = 1 }
                END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null; do
                PORT=$((PORT + 1))
        done
        NEXT_PORT=$PORT
        PORT=$((PORT + 1))
}

# login KEY USER PORT: prints ok (authenticated; root's forced command exits 142), refused, or
# what else happened.
login() {
        out=$(ssh -i "$T/$1" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
                -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR -p "$3" "$2@127.0.0.1" true 2>&1 </dev/null)
        case $? in
        0 | 142) echo ok ;;
        255) case $out in *"Permission denied"*) echo refused ;; *) echo "error: $out" ;; esac ;;
        *) echo "error: $out" ;;
        esac
}
expect_login() {
        got=$(login "$1" "$2" "$3")
        if [ "$got" = "$4" ]; then pass "$5: key $1 as $2: $4"; else fail "$5: key $1 as $2: expected $4, got $got"; fi
}

# contain DIR SHELL KEYS [stripped]: runs the script (or its stripped form) in instance DIR as
# Cloud Assistant would (content = the KEYREVOKE_KEYS line + the script, on stdin of SHELL -s);
# output in $T/out, status in RC.
RUN=0
contain() {
        RUN=$((RUN + 1))
        form=$SCRIPT
        if [ "${4:-}" = stripped ]; then form=$T/stripped.sh; fi
        { printf "KEYREVOKE_KEYS='%s'\n" "$3"; cat "$form"; } >"$T/content.$RUN"
        sh "$INST/run-in-instance.sh" "$1" "$2" -s <"$T/content.$RUN" >"$T/out.$RUN" 2>&1
        RC=$?
        cp "$T/out.$RUN" "$T/out"
        LAST=$(tail -n 1 "$T/out")
}
digest() {
        printf '%s\n' "$1" | sha256sum | cut -c 1-16
}
# expect_summary DESC RC STATUS KEYS REMOVED FILES UNCLEAN REVOKEDKEYS SSHD (digest of $KEYS_USED)
expect_summary() {
        want="KEYREVOKE-CONTAIN v1 status=$3 keys=$4 digest=$(digest "$KEYS_USED") removed=$5 files=$6 unclean=$7 revokedkeys=$8 sshd=$9"
        if [ "$RC" = "$2" ] && [ "$LAST" = "$want" ]; then
                pass "$1: exit $2, last line: $want"
        else
                fail "$1: exit $RC (expected $2), last line '$LAST', expected '$want'"
                sed 's/^/    | /' "$T/out"
        fi
}
out_has() {
        grep -q -F -e "$1" "$T/out"
}

# Owner, mode, link target and content hash of every file an instance has, but its run/.
snapshot() {
        (cd "$1" && find etc root home var -printf '%p %U %G %m %l\n' | sort &&
                find etc root home var -type f -exec sha256sum {} + | sort)
}
same_file() {
        cmp -s "$1" "$2"
}
meta() {
        stat -c '%u %g %a' "$1"
}

# make DIR [make-instance options]: a new instance, its port in $NEXT_PORT.
make() {
        d=$1
        shift
        next_port
        sh "$INST/make-instance.sh" "$T/$d" "$NEXT_PORT" "$@" || die "make-instance.sh $d failed"
}
start() {
        sh "$INST/start-sshd.sh" "$T/$1" || die "start-sshd.sh $1 failed"
        INSTANCES="$INSTANCES $T/$1"
}
# put FILE UID:GID MODE: FILE gets stdin's bytes.
put() {
        mkdir -p "$(dirname "$1")"
        cat >"$1"
        chown "$2" "$1"
        chmod "$3" "$1"
}

STARTED=$(date +%s)

# ---- keys ---------------------------------------------------------------------------------
for k in rev other unrel; do
        ssh-keygen -q -t ed25519 -N '' -C "$k@test" -f "$T/$k" || die "ssh-keygen failed"
done
ssh-keygen -q -t ecdsa -b 256 -N '' -C rev2@test -f "$T/rev2" || die "ssh-keygen failed"
REV=$(cut -d ' ' -f 1,2 "$T/rev.pub")
REV2=$(cut -d ' ' -f 1,2 "$T/rev2.pub")
OTHER=$(cut -d ' ' -f 1,2 "$T/other.pub")
UNREL=$(cut -d ' ' -f 1,2 "$T/unrel.pub")
REVB=${REV#* }
NL='
'
TAB=$(printf '\t')
KEYS="$REV$NL$REV2"

check "contain.sh is shellcheck -s sh clean" shellcheck -s sh "$SCRIPT"
sed -f "$STRIP" "$SCRIPT" >"$T/stripped.sh" || die "strip.sed failed"
{ printf "KEYREVOKE_KEYS='%s'\n" "$KEYS"; cat "$T/stripped.sh"; } | base64 -w 0 >"$T/content.b64"
B64=$(wc -c <"$T/content.b64")
echo "info: contain.sh $(wc -c <"$SCRIPT") bytes, stripped $(wc -c <"$T/stripped.sh"), sent with 2 keys: $B64 bytes of base64"
check "stripped, with 2 keys, the command content fits Cloud Assistant's 24 KB of base64 ($B64 bytes)" test "$B64" -le 24576

# ---- instance A: no RevokedKeys yet, every kind of authorized-keys file --------------------
# Files: /root/.ssh/authorized_keys (cloud-init's prefix), a 5 MiB root authorized_keys2 holding
# the key, alice's file with options of every shape, her authorized_keys2 a symlink out of her
# home, bob's CRLF file, his file without final newline, a per-user file from a Match block, and
# /etc/ssh/authorized_keys/%u files (one ends without newline on a removed line, one is binary).
make A --key root="$T/rev.pub" --key root="$T/other.pub" --key alice="$T/other.pub" --key bob="$T/other.pub" \
        --authorized-keys-file ".ssh/authorized_keys .ssh/authorized_keys2 /etc/ssh/authorized_keys/%u" \
        --append-config "Match User bob" \
        --append-config "    AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys2 .ssh/bob_keys"
A=$T/A
PA=$NEXT_PORT
A_ROOT_KEEP=$(grep -v -F "$REVB" "$A/root/.ssh/authorized_keys")
{ head -c 5242880 /dev/zero | tr '\0' 'x' | fold -w 100 | sed 's/^/# /'; echo "$REV huge"; } |
        put "$A/root/.ssh/authorized_keys2" 0:0 600
A1="# alice's keys"
A2=""
A3="no-port-forwarding,command=\"echo 'Please login as the user \\\"alice\\\" rather than root.';echo;sleep 0\",no-pty $REV with-options"
A4="$OTHER alice-other"
A5="from=\"127.0.0.1\",command=\"echo $REV is not this line's key\" $UNREL decoy"
A6="   $REV leading-blanks"
A7="environment=\"X=a b, c\",command=\"/bin/echo \\\"quoted, spaced\\\" 'x y'\" $REV escaped-quotes"
A8="#$REV commented-out"
A9="$(printf '%s\t%s\t%s' "${REV% *}" "$REVB" tabs)"
printf '%s\n' "$A1" "$A2" "$A3" "$A4" "$A5" "$A6" "$A7" "$A8" "$A9" | put "$A/home/alice/.ssh/authorized_keys" 1000:65534 640
printf '%s\n' "$A1" "$A2" "$A4" "$A5" "$A8" >"$T/A.alice.expected"
printf '%s\n' "$REV outside" | put "$A/etc/ssh/outside_keys" 0:0 644
ln -s /etc/ssh/outside_keys "$A/home/alice/.ssh/authorized_keys2"
printf '# bob, CRLF\r\n%s bob-other\r\n%s\r\n# end\r\n' "$OTHER" "$REV" | put "$A/home/bob/.ssh/authorized_keys" 1001:1001 600
printf '# bob, CRLF\r\n%s bob-other\r\n# end\r\n' "$OTHER" >"$T/A.bob.expected"
printf '%s bob-first\n# kept last line without newline' "$REV" | put "$A/home/bob/.ssh/authorized_keys2" 1001:1001 600
printf '# kept last line without newline' >"$T/A.bob2.expected"
printf '%s from-match-block\n' "$REV" | put "$A/home/bob/.ssh/bob_keys" 1001:1001 600
mkdir -p "$A/etc/ssh/authorized_keys"
chmod 0755 "$A/etc/ssh/authorized_keys"
printf '# managed by root\n%s managed' "$REV" | put "$A/etc/ssh/authorized_keys/alice" 0:0 644
printf '# managed by root\n' >"$T/A.managed.expected"
printf 'junk\000\001\002\n%s binary\n' "$REV" | put "$A/etc/ssh/authorized_keys/bob" 0:0 644
for f in root/.ssh/authorized_keys2 etc/ssh/outside_keys etc/ssh/authorized_keys/bob; do
        cp -p "$A/$f" "$T/A.untouched.$(basename "$f")"
done
A_META_ALICE=$(meta "$A/home/alice/.ssh/authorized_keys")
A_META_BOB=$(meta "$A/home/bob/.ssh/authorized_keys")
A_META_ROOT=$(meta "$A/root/.ssh/authorized_keys")
start A

expect_login rev root "$PA" ok "A before"
expect_login rev alice "$PA" ok "A before"
expect_login rev bob "$PA" ok "A before"
expect_login other root "$PA" ok "A before"

# Invalid input first: nothing may change in A.
snapshot "$A" >"$T/A.before"
n=0
for bad in "ssh-foo AAAA" "$REV\"x" "$REV$NL" "$(printf '%s\r' "$REV")" "$REV$NL$REV2 comment" "$REV2$NL ${REV#* }" ""; do
        n=$((n + 1))
        KEYS_USED=$bad
        contain "$A" sh "$bad"
        expect_summary "invalid input $n (bad type, quote, empty line, CR, comment, no type, empty)" 3 \
                invalid-input 0 0 0 0 - unchanged
done
KEYS_USED=""
RC=0
sh "$INST/run-in-instance.sh" "$A" sh -s <"$SCRIPT" >"$T/out" 2>&1 || RC=$?
LAST=$(tail -n 1 "$T/out")
expect_summary "KEYREVOKE_KEYS unset" 3 invalid-input 0 0 0 0 - unchanged
snapshot "$A" >"$T/A.after-invalid"
check "invalid input changed nothing in instance A" same_file "$T/A.before" "$T/A.after-invalid"

KEYS_USED=$KEYS
contain "$A" sh "$KEYS"
expect_summary "A first run (dash)" 0 contained 2 9 6 3 /etc/ssh/keyrevoke_revoked_keys reloaded
expect_login rev root "$PA" refused "A after"
expect_login rev alice "$PA" refused "A after"
expect_login rev bob "$PA" refused "A after"
expect_login other root "$PA" ok "A after"
expect_login other alice "$PA" ok "A after"
expect_login other bob "$PA" ok "A after"
check "A: sshd refused alice's revoked key through RevokedKeys (her symlinked file still holds it)" \
        grep -q "revoked by file /etc/ssh/keyrevoke_revoked_keys" "$A/run/sshd.log"

printf '%s\n' "$A_ROOT_KEEP" >"$T/A.root.expected"
check "A: root's file keeps its other line, byte for byte" same_file "$T/A.root.expected" "$A/root/.ssh/authorized_keys"
check "A: alice's file keeps comments, blanks, the decoy and other lines, byte for byte" \
        same_file "$T/A.alice.expected" "$A/home/alice/.ssh/authorized_keys"
check "A: bob's CRLF file keeps its CRLF lines" same_file "$T/A.bob.expected" "$A/home/bob/.ssh/authorized_keys"
check "A: a kept last line stays without newline" same_file "$T/A.bob2.expected" "$A/home/bob/.ssh/authorized_keys2"
check "A: a removed last line without newline leaves the line before intact" \
        same_file "$T/A.managed.expected" "$A/etc/ssh/authorized_keys/alice"
check "A: the Match block's file of bob is emptied" test ! -s "$A/home/bob/.ssh/bob_keys"
check "A: alice's file keeps owner, group and mode ($A_META_ALICE)" test "$(meta "$A/home/alice/.ssh/authorized_keys")" = "$A_META_ALICE"
check "A: bob's file keeps owner, group and mode" test "$(meta "$A/home/bob/.ssh/authorized_keys")" = "$A_META_BOB"
check "A: root's file keeps owner, group and mode" test "$(meta "$A/root/.ssh/authorized_keys")" = "$A_META_ROOT"
check "A: no temp file left next to the cleaned files" \
        test -z "$(find "$A/root" "$A/home" "$A/etc/ssh" -name '.keyrevoke.*')"
for f in root/.ssh/authorized_keys2 etc/ssh/outside_keys etc/ssh/authorized_keys/bob; do
        check "A: $f untouched" same_file "$T/A.untouched.$(basename "$f")" "$A/$f"
done
check "A: alice's authorized_keys2 is still a symlink" test -L "$A/home/alice/.ssh/authorized_keys2"
check "A: the symlink out of the home is reported unclean" \
        out_has "unclean /home/alice/.ssh/authorized_keys2: leads out of the home"
check "A: the 5 MiB file is reported unclean" out_has "unclean /root/.ssh/authorized_keys2: larger than"
check "A: the binary file is reported unclean" out_has "unclean /etc/ssh/authorized_keys/bob: binary content"
check "A: the account without a home is skipped quietly" sh -c "! grep -q nohome '$T/out' && test ! -e '$A/home/nohome'"
check "A: the drop-in switches RevokedKeys on" \
        grep -qx "RevokedKeys /etc/ssh/keyrevoke_revoked_keys" "$A/etc/ssh/sshd_config.d/00-keyrevoke.conf"
check "A: the RevokedKeys file holds both keys" sh -c "grep -qxF '$REV' '$A/etc/ssh/keyrevoke_revoked_keys' &&
        grep -qxF '$REV2' '$A/etc/ssh/keyrevoke_revoked_keys'"
check "A: the RevokedKeys file and the drop-in are 0644 root" test "$(meta "$A/etc/ssh/keyrevoke_revoked_keys") $(meta "$A/etc/ssh/sshd_config.d/00-keyrevoke.conf")" = "0 0 644 0 0 644"
check "A: /var/lib/keyrevoke is 0700 and removed-keys 0600" \
        test "$(stat -c %a "$A/var/lib/keyrevoke") $(stat -c %a "$A/var/lib/keyrevoke/removed-keys")" = "700 600"
check "A: removed-keys holds the 9 removed lines with time and file" \
        test "$(awk -F "$TAB" -v b="$REVB" '$1 ~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:]+Z$/ &&
                $2 ~ /^\// && index(substr($0, length($1 $2) + 3), b) { n++ } END { print n + 0 }' \
                "$A/var/lib/keyrevoke/removed-keys")" = 9
check "A: removed-keys has alice's line with its options" \
        grep -qF "$TAB/home/alice/.ssh/authorized_keys$TAB$A7" "$A/var/lib/keyrevoke/removed-keys"

snapshot "$A" >"$T/A.first"
contain "$A" bash "$KEYS"
expect_summary "A second run (bash)" 0 contained 2 0 0 3 /etc/ssh/keyrevoke_revoked_keys unchanged
snapshot "$A" >"$T/A.second"
check "A: the second run changed no file" same_file "$T/A.first" "$T/A.second"

# ---- instance B: RevokedKeys already configured as a flat list ---------------------------
make B --key alice="$T/rev.pub" --key bob="$T/other.pub" --revoked-keys /etc/ssh/revoked_keys
B=$T/B
PB=$NEXT_PORT
printf '# site list\n%s' "$UNREL" | put "$B/etc/ssh/revoked_keys" 0:0 640
printf '# site list\n%s\n%s\n%s\n' "$UNREL" "$REV" "$REV2" >"$T/B.expected"
printf '%s outside\n' "$REV" | put "$B/etc/ssh/outside_keys" 0:0 644
ln -s /etc/ssh/outside_keys "$B/home/alice/.ssh/authorized_keys2"
# Root's file in a directory bob controls: writing it as root could be redirected by bob.
printf '%s root-owned\n' "$REV" | put "$B/home/bob/.ssh/authorized_keys2" 0:0 644
cp -p "$B/home/bob/.ssh/authorized_keys2" "$T/B.bob2"
cp -p "$B/etc/ssh/sshd_config" "$T/B.sshd_config"
start B
expect_login rev alice "$PB" ok "B before"
contain "$B" bash "$KEYS" stripped
expect_summary "B (configured flat list, bash, stripped)" 0 contained 2 1 1 2 /etc/ssh/revoked_keys unchanged
check "B: root's file in bob's directory is reported, not rewritten" sh -c "cmp -s '$T/B.bob2' '$B/home/bob/.ssh/authorized_keys2' &&
        grep -q '^unclean /home/bob/.ssh/authorized_keys2: owned by uid 0 in directories of uid 1001' '$T/out'"
check "B: the flat list is extended after its last line, nothing else changed" same_file "$T/B.expected" "$B/etc/ssh/revoked_keys"
check "B: the flat list keeps owner and mode" test "$(meta "$B/etc/ssh/revoked_keys")" = "0 0 640"
check "B: sshd_config unchanged, no drop-in, no keyrevoke keys file" sh -c "cmp -s '$T/B.sshd_config' '$B/etc/ssh/sshd_config' &&
        test ! -e '$B/etc/ssh/sshd_config.d/00-keyrevoke.conf' && test ! -e '$B/etc/ssh/keyrevoke_revoked_keys'"
expect_login rev alice "$PB" refused "B after"
expect_login other bob "$PB" ok "B after"
snapshot "$B" >"$T/B.first"
contain "$B" sh "$KEYS" stripped
expect_summary "B second run (dash, stripped)" 0 contained 2 0 0 2 /etc/ssh/revoked_keys unchanged
snapshot "$B" >"$T/B.second"
check "B: the second run changed no file" same_file "$T/B.first" "$T/B.second"

# ---- instance C: RevokedKeys already configured as a binary KRL --------------------------
make C --key alice="$T/rev.pub" --key bob="$T/other.pub" --revoked-krl /etc/ssh/revoked.krl
C=$T/C
PC=$NEXT_PORT
ssh-keygen -q -k -u -f "$C/etc/ssh/revoked.krl" "$T/unrel.pub" || die "ssh-keygen -k failed"
printf '%s outside\n' "$REV" | put "$C/etc/ssh/outside_keys" 0:0 644
ln -s /etc/ssh/outside_keys "$C/home/alice/.ssh/authorized_keys2"
# Mode 0000: root could read it, bob (as whom it is read, as sshd does) cannot.
printf '%s unreadable\n' "$REV" | put "$C/home/bob/.ssh/authorized_keys2" 1001:1001 000
cp -p "$C/home/bob/.ssh/authorized_keys2" "$T/C.bob2"
start C
expect_login rev alice "$PC" ok "C before"
contain "$C" sh "$KEYS"
expect_summary "C (configured KRL, dash)" 0 contained 2 1 1 2 /etc/ssh/revoked.krl unchanged
check "C: a file bob cannot read is read as bob: reported unreadable, untouched" sh -c "
        cmp -s '$T/C.bob2' '$C/home/bob/.ssh/authorized_keys2' && grep -qx 'unclean /home/bob/.ssh/authorized_keys2: unreadable' '$T/out'"
check "C: the KRL revokes both keys and still the old one, not the other" sh -c "$(cat <<EOF
ssh-keygen -Q -f '$C/etc/ssh/revoked.krl' '$T/rev.pub' '$T/rev2.pub' '$T/unrel.pub' | grep -c ': REVOKED\$' | grep -qx 3 &&
ssh-keygen -Q -f '$C/etc/ssh/revoked.krl' '$T/other.pub' | grep -q ': ok\$'
EOF
)"
check "C: the KRL is still a KRL, mode 0644" sh -c "test \"\$(head -c 6 '$C/etc/ssh/revoked.krl')\" = SSHKRL &&
        test \"\$(stat -c %a '$C/etc/ssh/revoked.krl')\" = 644"
expect_login rev alice "$PC" refused "C after"
expect_login other bob "$PC" ok "C after"
snapshot "$C" >"$T/C.first"
contain "$C" bash "$KEYS"
expect_summary "C second run (bash)" 0 contained 2 0 0 2 /etc/ssh/revoked.krl unchanged
snapshot "$C" >"$T/C.second"
check "C: the second run left the KRL byte-identical" same_file "$T/C.first" "$T/C.second"

# ---- instance D: no Include of sshd_config.d, sshd not running, no /run/sshd -------------
make D --key alice="$T/rev.pub" --key bob="$T/other.pub" --no-include
D=$T/D
PD=$NEXT_PORT
printf '%s outside\n' "$REV" | put "$D/etc/ssh/outside_keys" 0:0 644
ln -s /etc/ssh/outside_keys "$D/home/alice/.ssh/authorized_keys2"
cp -p "$D/etc/ssh/sshd_config" "$T/D.sshd_config"
rmdir "$D/run/sshd"
contain "$D" bash "$KEYS" stripped
expect_summary "D (no sshd_config.d, sshd stopped, bash, stripped)" 0 contained 2 1 1 1 /etc/ssh/keyrevoke_revoked_keys not-running
check "D: says it added RevokedKeys to sshd_config itself" out_has "added RevokedKeys /etc/ssh/keyrevoke_revoked_keys at the top of /etc/ssh/sshd_config"
check "D: sshd_config = RevokedKeys line on top + the old config, byte for byte" sh -c "
        sed -n 2p '$D/etc/ssh/sshd_config' | grep -qx 'RevokedKeys /etc/ssh/keyrevoke_revoked_keys' &&
        sed 1,2d '$D/etc/ssh/sshd_config' | cmp -s - '$T/D.sshd_config'"
check "D: sshd_config keeps owner and mode" test "$(meta "$D/etc/ssh/sshd_config")" = "$(meta "$T/D.sshd_config")"
check "D: no drop-in written" test ! -e "$D/etc/ssh/sshd_config.d/00-keyrevoke.conf"
check "D: sshd's privilege separation directory was created" test -d "$D/run/sshd"
start D
expect_login rev alice "$PD" refused "D after sshd starts"
expect_login other bob "$PD" ok "D after sshd starts"
contain "$D" sh "$KEYS" stripped
expect_summary "D second run (dash, stripped)" 0 contained 2 0 0 1 /etc/ssh/keyrevoke_revoked_keys unchanged

# ---- instance E: sshd -t rejects the change -> everything rolled back --------------------
# A real config whose glob Include also matches the new keys file: sshd then parses the key
# lines as directives and sshd -t fails, but only once that file exists.
make E --key alice="$T/rev.pub" --key alice="$T/other.pub" --key bob="$T/other.pub" --prepend-config "Include /etc/ssh/*_keys"
E=$T/E
PE=$NEXT_PORT
start E
E_PID=$(cat "$E/run/sshd.pid")
(cd "$E" && find etc -printf '%p %U %G %m\n' | sort && find etc -type f -exec sha256sum {} + | sort) >"$T/E.before"
contain "$E" sh "$KEYS"
expect_summary "E (sshd -t fails)" 1 failed 2 1 1 0 - failed
check "E: sshd -t rejection reported" out_has "sshd -t rejected the new config"
check "E: the keys file and the drop-in were written, then removed" sh -c "
        grep -qx 'rolled back: removed /etc/ssh/sshd_config.d/00-keyrevoke.conf' '$T/out' &&
        grep -qx 'rolled back: removed /etc/ssh/keyrevoke_revoked_keys' '$T/out'"
(cd "$E" && find etc -printf '%p %U %G %m\n' | sort && find etc -type f -exec sha256sum {} + | sort) >"$T/E.after"
check "E: /etc (sshd_config, drop-ins, keys files) restored exactly" same_file "$T/E.before" "$T/E.after"
check "E: the same sshd keeps running" sh -c "test \"\$(cat '$E/run/sshd.pid')\" = $E_PID &&
        grep -q '^State:[^Z]*\$' /proc/$E_PID/status"
expect_login other bob "$PE" ok "E after the rollback"
expect_login other alice "$PE" ok "E after the rollback"

# ---- instance F: sshd -T shows the change is not in force -> rolled back ------------------
# "RevokedKeys none" before the Include wins over the drop-in (sshd takes the first value).
make F --key alice="$T/rev.pub" --key bob="$T/rev.pub" --prepend-config "RevokedKeys none"
F=$T/F
chmod 0777 "$F/home/bob/.ssh"
(cd "$F" && find etc -printf '%p %U %G %m\n' | sort && find etc -type f -exec sha256sum {} + | sort) >"$T/F.before"
contain "$F" bash "$KEYS" stripped
expect_summary "F (drop-in overridden, bash, stripped)" 1 failed 2 1 1 1 - failed
check "F: a file in a directory anyone can write is reported, not rewritten" sh -c "
        grep -qx 'unclean /home/bob/.ssh/authorized_keys: in a directory others can write: not rewritten' '$T/out' &&
        grep -qF '$REV' '$F/home/bob/.ssh/authorized_keys'"
check "F: the override is reported" out_has "sshd -T does not name /etc/ssh/keyrevoke_revoked_keys as RevokedKeys"
(cd "$F" && find etc -printf '%p %U %G %m\n' | sort && find etc -type f -exec sha256sum {} + | sort) >"$T/F.after"
check "F: /etc restored exactly" same_file "$T/F.before" "$T/F.after"

# ---- instance G: a key set too large for one command, sent in runs, adds up -----------------
# keyrevoked sends such a set run after run (Scope=fleet): each run only adds to RevokedKeys and
# only removes lines, so after the last one every key of every run is refused.
make G --key root="$T/rev.pub" --key root="$T/rev2.pub" --key root="$T/other.pub" --key alice="$T/rev2.pub"
G=$T/G
PG=$NEXT_PORT
start G
KEYS_USED=$REV
contain "$G" sh "$REV"
expect_summary "G run 1 of 2" 0 contained 1 1 1 0 /etc/ssh/keyrevoke_revoked_keys reloaded
expect_login rev root "$PG" refused "G after run 1"
expect_login rev2 root "$PG" ok "G after run 1 (its key is in run 2)"
KEYS_USED=$REV2
contain "$G" bash "$REV2" stripped
expect_summary "G run 2 of 2" 0 contained 1 2 2 0 /etc/ssh/keyrevoke_revoked_keys unchanged
expect_login rev root "$PG" refused "G after run 2 (run 1's key still)"
expect_login rev2 root "$PG" refused "G after run 2"
expect_login rev2 alice "$PG" refused "G after run 2"
expect_login other root "$PG" ok "G after both runs"
check "G: the RevokedKeys file holds the keys of both runs" sh -c "grep -qxF '$REV' '$G/etc/ssh/keyrevoke_revoked_keys' &&
        grep -qxF '$REV2' '$G/etc/ssh/keyrevoke_revoked_keys'"

ELAPSED=$(($(date +%s) - STARTED))
echo "$CHECKS checks, $FAILS failed, ${ELAPSED}s"
[ "$FAILS" -eq 0 ]
