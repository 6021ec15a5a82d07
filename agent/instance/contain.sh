# keyrevoke containment: runs ON an ECS instance, as root, through Cloud Assistant RunCommand.
#
# keyrevoked sends this text preceded by one line, KEYREVOKE_KEYS='TYPE BLOB<newline>TYPE BLOB...'
# (the revoked public keys; data only, validated again here). The script then:
#   1. puts every key into the RevokedKeys file sshd uses: the one sshd already names (a flat
#      key list is extended, a binary KRL updated with ssh-keygen -k -u), or else
#      /etc/ssh/keyrevoke_revoked_keys, switched on by /etc/ssh/sshd_config.d/00-keyrevoke.conf
#      (or by a RevokedKeys line at the top of sshd_config when it includes no sshd_config.d).
#      Files are replaced by temp file + rename; sshd -t and sshd -T must accept the result or
#      every change is undone; sshd is reloaded only when its config changed;
#   2. removes the lines holding a revoked key (type and blob, whatever options precede them)
#      from the authorized-keys files of every account in the passwd database (sshd's
#      AuthorizedKeysFile and the default .ssh/authorized_keys .ssh/authorized_keys2), keeping
#      every other line byte for byte, the owner and the mode; removed lines are appended to
#      /var/lib/keyrevoke/removed-keys. A file is read and rewritten with the rights of the
#      account owning its directories, so a symlink swapped in meanwhile gains that account
#      nothing. Symlinks out of the home, non-regular, unreadable, binary or big files are never
#      edited, and counted as unclean when they may hold a key (RevokedKeys still blocks it);
#   3. prints what it did, and last one summary line (Cloud Assistant keeps only the tail):
#      KEYREVOKE-CONTAIN v1 status=S keys=K digest=D removed=R files=F unclean=U revokedkeys=P sshd=X
#      and exits 0 (contained), 1 (failed) or 3 (invalid input).
# A second run with the same keys changes nothing. Needs POSIX sh, coreutils, grep, sed, awk,
# OpenSSH's sshd and ssh-keygen (getent and systemctl when present).
#
# keyrevoked may send this file stripped of comment lines, blank lines and leading blanks (so
# no multi-line string here holds a line starting with "#" or depending on its indentation).

TYPES="ssh-rsa ssh-dss ssh-ed25519 ecdsa-sha2-nistp256 ecdsa-sha2-nistp384 ecdsa-sha2-nistp521
sk-ssh-ed25519@openssh.com sk-ecdsa-sha2-nistp256@openssh.com"
MAX_KEYS=1000
MAX_BYTES=1048576
TIMEOUT=20
LOG_DIR=/var/lib/keyrevoke
CONFIG=/etc/ssh/sshd_config
DROPIN_DIR=/etc/ssh/sshd_config.d
DROPIN=$DROPIN_DIR/00-keyrevoke.conf
OWN_KEYS=/etc/ssh/keyrevoke_revoked_keys
DEFAULT_AKF=".ssh/authorized_keys .ssh/authorized_keys2"

# Functions share one namespace: each uses variable names of its own.
LC_ALL=C
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL PATH
umask 077
keys=0 removed=0 files=0 unclean=0 rk=- sshd_state=failed rk_ok=no changed=no W=

say() {
        printf '%s\n' "$*"
}

summary() {
        printf 'KEYREVOKE-CONTAIN v1 status=%s keys=%s digest=%s removed=%s files=%s unclean=%s revokedkeys=%s sshd=%s\n' \
                "$1" "$keys" "$digest" "$removed" "$files" "$unclean" "$rk" "$sshd_state"
}

# Checks KEYREVOKE_KEYS (one "TYPE BLOB" per line, known type, base64 blob); sets keys.
validate() {
        [ -n "${KEYREVOKE_KEYS:-}" ] || { say "KEYREVOKE_KEYS is unset or empty"; return 1; }
        v=$(printf '%s\n' "$KEYREVOKE_KEYS" | KR_T=$TYPES awk -v max="$MAX_KEYS" '
                BEGIN { n = split(ENVIRON["KR_T"], t); for (i = 1; i <= n; i++) known[t[i]] = 1 }
                NR > max { print "more than " max " keys"; bad = 1; exit }
                {
                        sp = index($0, " ")
                        if (sp == 0 || !(substr($0, 1, sp - 1) in known)) {
                                print "key line " NR ": unknown key type"; bad = 1
                        } else if (substr($0, sp + 1) !~ /^[A-Za-z0-9+\/]+(=|==)?$/ || length($0) > 16384) {
                                print "key line " NR ": not base64"; bad = 1
                        }
                }
                END { if (bad) exit 1; print NR }') || { say "$v"; return 1; }
        keys=$v
}

# as_uid UID GID CMD...: CMD with that uid and gid (as is for 0), killed after TIMEOUT seconds.
as_uid() {
        u=$1 g=$2
        shift 2
        if [ "$u" = 0 ]; then
                timeout "$TIMEOUT" "$@"
        else
                timeout "$TIMEOUT" chroot --userspec="$u:$g" --groups="$g" / "$@"
        fi
}

# sh program: replaces file $1 atomically with stdin (temp file in its directory, owner $2,
# mode $3, synced, renamed over it).
# shellcheck disable=SC2016 # expanded by that sh
REPLACE='tmp=$(mktemp "${1%/*}/.keyrevoke.XXXXXX") || exit 1
if cat >"$tmp" && chown "$2" "$tmp" && chmod "$3" "$tmp" && { sync -- "$tmp" 2>/dev/null || sync; } &&
mv -f -- "$tmp" "$1"; then sync -- "${1%/*}" 2>/dev/null; exit 0; fi
rm -f -- "$tmp"; exit 1'

# replace FILE UID GID MODE SOURCE [AS_UID]: FILE gets SOURCE's bytes, owner and mode.
replace() {
        as_uid "${6:-0}" "$3" sh -c "$REPLACE" keyrevoke "$1" "$2:$3" "$4" <"$5"
}

# sshd -T [ARGS] into $W/T. Makes sshd's missing privilege separation directory (as its
# systemd unit does at start): sshd tests no config without it.
sshd_T() {
        "$sshd" -T "$@" >"$W/T" 2>"$W/T.err" && return
        d=$(tr -d '\r' <"$W/T.err" | sed -n 's/^Missing privilege separation directory: \(\/[^ ]*\)$/\1/p')
        [ -n "$d" ] && [ ! -e "$d" ] && mkdir -m 0755 "$d" && say "created $d" && "$sshd" -T "$@" >"$W/T" 2>"$W/T.err"
}

# The value of KEYWORD in $W/T.
T_value() {
        awk -v k="$1" '$1 == k { sub(/^[^ ]+ /, ""); print; exit }' "$W/T"
}

setup() {
        W=$(mktemp -d "${TMPDIR:-/tmp}/keyrevoke.XXXXXX") || return 1
        trap 'rm -rf "$W"' EXIT
        trap 'exit 1' HUP INT TERM
        printf '%s\n' "$KEYREVOKE_KEYS" >"$W/keys"
        cut -d ' ' -f 2 "$W/keys" >"$W/blobs"
        { getent passwd || cat /etc/passwd; } >"$W/passwd" 2>/dev/null || return 1
        can_switch=no
        if chroot --userspec=65534:65534 --groups=65534 / true 2>/dev/null; then can_switch=yes; fi
        akf=$DEFAULT_AKF T_ok=no
        sshd=$(command -v sshd) || { say "sshd not found"; return 0; }
        if sshd_T; then
                T_ok=yes akf="$(T_value authorizedkeysfile) $DEFAULT_AKF"
        else
                say "sshd -T failed:"
                head -n 5 "$W/T.err"
        fi
}

# ---- RevokedKeys --------------------------------------------------------------------------

# $W/usable: the keys ssh-keygen reads. A line sshd cannot read in a flat RevokedKeys list makes
# it refuse every key; and a key it cannot read cannot log in.
usable_keys() {
        : >"$W/usable"
        n=0
        while IFS= read -r k <&3; do
                n=$((n + 1))
                printf '%s\n' "$k" >"$W/one.pub"
                if ssh-keygen -l -f "$W/one.pub" >/dev/null 2>&1; then
                        printf '%s\n' "$k" >>"$W/usable"
                else
                        say "key line $n: not a key this OpenSSH reads, left out of RevokedKeys"
                fi
        done 3<"$W/keys"
}

# missing_keys FILE KIND: the usable keys the RevokedKeys FILE (flat or krl) does not revoke yet.
missing_keys() {
        if [ "$2" = flat ]; then
                awk 'list { sub(/^[ \t]+/, ""); split($0, f, /[ \t]+/); gsub(/\r/, "", f[2]); have[f[1] " " f[2]]; next }
                !($0 in have) && !seen[$0]++' list=1 "$1" list=0 "$W/usable"
                return
        fi
        while IFS= read -r k <&3; do
                printf '%s\n' "$k" >"$W/one.pub"
                q=$(ssh-keygen -Q -f "$1" "$W/one.pub" 2>&1)
                case $q in
                *": REVOKED") ;;
                *": ok") printf '%s\n' "$k" ;;
                *) say "ssh-keygen -Q: $q"; return 1 ;;
                esac
        done 3<"$W/usable"
}

kind() {
        if [ "$(head -c 6 -- "$1")" = SSHKRL ]; then echo krl; else echo flat; fi
}

# put FILE SOURCE: FILE (root's, in root's directories) gets SOURCE's bytes, keeping its
# owner and mode (new: root, 0644); its former state is kept for rollback.
put() {
        b=$W/backup.$(($(wc -l <"$W/backups") + 1))
        if [ -e "$1" ]; then
                cp -p -- "$1" "$b" || return 1
                echo "$b $1" >>"$W/backups"
                # shellcheck disable=SC2046 # three numbers
                replace "$1" $(stat -c '%u %g %a' -- "$1") "$2"
        else
                echo "- $1" >>"$W/backups"
                replace "$1" 0 0 644 "$2"
        fi
}

rollback() {
        while read -r b f <&3; do
                if [ "$b" = - ]; then
                        rm -f -- "$f" && say "rolled back: removed $f"
                else
                        # shellcheck disable=SC2046 # three numbers
                        replace "$f" $(stat -c '%u %g %a' -- "$b") "$b" && say "rolled back: restored $f"
                fi || say "ROLLBACK FAILED: $f"
        done 3<"$W/backups"
}

# Adds the missing keys to the RevokedKeys file $1 (created as a flat list when absent).
extend() {
        if [ ! -e "$1" ]; then
                { say "# Revoked SSH keys (sshd RevokedKeys), kept by keyrevoke."; cat "$W/usable"; } >"$W/new"
                put "$1" "$W/new" && say "RevokedKeys $1: created with $(grep -c -v '^#' "$W/new") key(s)"
                return
        fi
        [ -f "$1" ] || { say "RevokedKeys $1 is not a regular file"; return 1; }
        t=$(kind "$1")
        missing_keys "$1" "$t" >"$W/missing" || return 1
        n=$(grep -c '' "$W/missing")
        if [ "$n" -eq 0 ]; then
                say "RevokedKeys $1 ($t) revokes every key already"
                return
        fi
        if [ "$t" = krl ]; then
                if ! cp -- "$1" "$W/new" || ! ssh-keygen -k -u -f "$W/new" "$W/missing" >"$W/err" 2>&1; then
                        say "ssh-keygen -k -u failed:"
                        head -n 5 "$W/err"
                        return 1
                fi
        else
                {
                        cat -- "$1"
                        if [ -s "$1" ] && [ -n "$(tail -c 1 -- "$1")" ]; then echo; fi
                        cat "$W/missing"
                } >"$W/new"
        fi
        put "$1" "$W/new" && say "RevokedKeys $1 ($t): added $n key(s)"
}

# Switches RevokedKeys $OWN_KEYS on: by a drop-in when sshd_config includes sshd_config.d/*.conf
# (before any Match), else by a line at the top of sshd_config (sshd takes the first value it
# reads; a line at the end could land in a Match block).
configure() {
        if [ -d "$DROPIN_DIR" ] && awk 'tolower($1) == "match" { exit }
                tolower($1) == "include" { for (i = 2; i <= NF; i++) { gsub(/"/, "", $i)
                        if ($i == "/etc/ssh/sshd_config.d/*.conf" || $i == "sshd_config.d/*.conf") found = 1 } }
                END { exit !found }' "$CONFIG"; then
                printf '%s\n' "# keyrevoke: refuse revoked SSH keys" "RevokedKeys $OWN_KEYS" >"$W/dropin"
                put "$DROPIN" "$W/dropin" && changed=yes && say "wrote $DROPIN"
                return
        fi
        c=$(readlink -f -- "$CONFIG")
        if awk 'tolower($1) == "revokedkeys" { found = 1 } END { exit !found }' "$c"; then
                say "$c has a RevokedKeys line (none, or in a Match block) and no Include of $DROPIN_DIR: not changed"
                return 1
        fi
        { printf '%s\n' "# keyrevoke: refuse revoked SSH keys" "RevokedKeys $OWN_KEYS"; cat -- "$c"; } >"$W/config"
        put "$c" "$W/config" && changed=yes && say "added RevokedKeys $OWN_KEYS at the top of $c (no Include of $DROPIN_DIR)"
}

# Is process $1 a live sshd (not a zombie)?
is_sshd() {
        [ "$(cat "/proc/$1/comm" 2>/dev/null)" = sshd ] &&
                awk '$1 == "State:" { live = $2 != "Z" } END { exit !live }' "/proc/$1/status" 2>/dev/null
}

# Makes the running sshd read its new config; sets sshd_state.
reload() {
        if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
                for unit in ssh.service sshd.service; do
                        systemctl is-active --quiet "$unit" || continue
                        if systemctl reload "$unit"; then sshd_state=reloaded; else sshd_state=failed; fi
                        say "systemctl reload $unit: $sshd_state"
                        return
                done
        fi
        pid=$(head -n 1 -- "$(T_value pidfile)" 2>/dev/null)
        case $pid in '' | *[!0-9]*) pid=0 ;; esac
        if [ "$pid" = 0 ] || ! is_sshd "$pid"; then
                sshd_state=not-running
                say "no sshd running: its config is written and tested"
                return
        fi
        kill -HUP "$pid"
        sleep 1
        if is_sshd "$pid"; then sshd_state=reloaded; else sshd_state=failed; fi
        say "SIGHUP to sshd (pid $pid): $sshd_state"
}

# verify PATH: after the change, sshd -t passes, sshd -T names RevokedKeys $1, $1 revokes every usable key,
# and sshd is reloaded if its config changed.
verify() {
        "$sshd" -t >"$W/err" 2>&1 || { say "sshd -t rejected the new config:"; head -n 5 "$W/err"; return 1; }
        if ! sshd_T || [ "$(T_value revokedkeys)" != "$1" ]; then
                say "sshd -T does not name $1 as RevokedKeys"
                return 1
        fi
        real=$(readlink -f -- "$1")
        if [ ! -f "$real" ] || [ ! -r "$real" ] || ! missing_keys "$real" "$(kind "$real")" >"$W/missing" ||
                [ -s "$W/missing" ]; then
                say "$1 does not revoke every key"
                return 1
        fi
        sshd_state=unchanged
        if [ "$changed" = yes ]; then reload; fi
        [ "$sshd_state" != failed ]
}

# Step 1: every usable key in the RevokedKeys file sshd uses; sets rk, rk_ok, sshd_state.
revoked_keys() {
        if [ "$T_ok" = no ]; then
                if [ -z "$sshd" ]; then sshd_state=not-running; fi
                return
        fi
        command -v ssh-keygen >/dev/null || { say "ssh-keygen not found: RevokedKeys not changed"; return; }
        usable_keys
        : >"$W/backups"
        p=$(T_value revokedkeys)
        if [ -z "$p" ] || [ "$p" = none ]; then
                p=$OWN_KEYS
                say "sshd has no RevokedKeys file: using $p"
        fi
        f=$(readlink -f -- "$p")
        # The keys file first: sshd must never name a RevokedKeys file that does not exist.
        if [ -n "$f" ] && extend "$f" && { [ "$p" != "$OWN_KEYS" ] || [ "$(T_value revokedkeys)" = "$p" ] || configure; } &&
                verify "$p"; then
                rk=$p rk_ok=yes
                return
        fi
        rollback
        sshd_state=failed
}

# ---- authorized-keys files ----------------------------------------------------------------

# akf_paths PATTERNS HOME USER UID: "FLAG PATH" per file, %h %u %U %% expanded (sshd's tokens of
# AuthorizedKeysFile), relative ones from the home; FLAG "h" for paths from the home (which must
# stay in it), "a" for absolute ones.
akf_paths() {
        printf '%s\n' "$1" | KR_H=$2 KR_U=$3 KR_I=$4 awk '{
                for (i = 1; i <= NF; i++) {
                        p = $i
                        if (p == "none") continue
                        flag = substr(p, 1, 1) != "/" || substr(p, 1, 2) == "%h" ? "h" : "a"
                        out = ""
                        while ((j = index(p, "%")) > 0) {
                                c = substr(p, j + 1, 1)
                                out = out substr(p, 1, j - 1)
                                if (c == "%") out = out "%"
                                else if (c == "h") out = out ENVIRON["KR_H"]
                                else if (c == "u") out = out ENVIRON["KR_U"]
                                else if (c == "U") out = out ENVIRON["KR_I"]
                                else break
                                p = substr(p, j + 2)
                        }
                        if (j) continue
                        out = out p
                        if (substr(out, 1, 1) != "/") out = ENVIRON["KR_H"] "/" out
                        if (!seen[out]++) print flag " " out
                }
        }'
}

# The uid controlling the directories holding file $1: 0 when only root can change them, the
# account owning some of them, or nothing when several accounts, a group or anyone can.
tree_owner() {
        d=${1%/*}
        set --
        while [ -n "$d" ]; do
                set -- "$@" "$d"
                d=${d%/*}
        done
        s=$(stat -c '%u %g %a' -- "$@" /) || return
        printf '%s\n' "$s" | awk '{
                m = 0
                for (i = 1; i <= length($3); i++) m = m * 8 + substr($3, i, 1)
                if (int(m / 512) % 2 == 0 && (int(m / 2) % 2 || ($2 != 0 && int(m / 16) % 2))) bad = 1
                if ($1 != 0) { if (owner == "") owner = $1; else if (owner != $1) bad = 1 }
        }
        END { if (!bad) print (owner == "" ? 0 : owner) }'
}

unclean_file() {
        unclean=$((unclean + 1))
        say "unclean $1: $2"
}

# maybe_unclean UID GID FILE REASON: FILE is unclean if it holds a revoked blob (read as UID).
maybe_unclean() {
        if as_uid "$1" "$2" cat -- "$3" 2>/dev/null | grep -F -q -f "$W/blobs"; then unclean_file "$3" "$4"; fi
}

# $W/snap split into $W/new (the kept lines, byte for byte: CRs kept, and a missing final
# newline still missing) and $W/removed (the lines holding a revoked key). A line's key is
# where sshd reads it: TYPE BLOB at the start, else after the options, which may hold
# double-quoted strings with blanks (\" is a quote inside them).
split_lines() {
        nonl=0
        if [ -n "$(tail -c 1 "$W/snap")" ]; then nonl=1; fi
        : >"$W/removed"
        KR_R=$W/removed awk -v nonl="$nonl" '
        function key_at(s,    t, b) {
                t = s
                sub(/[ \t].*/, "", t)
                b = substr(s, length(t) + 1)
                sub(/^[ \t]+/, "", b)
                sub(/[ \t].*/, "", b)
                gsub(/\r/, "", b)
                return (t " " b) in revoked
        }
        function holds(s,    i, c, n, q, any) {
                for (i = 1; i <= nb; i++) if (index(s, blob[i])) any = 1
                if (!any) return 0
                sub(/^[ \t]+/, "", s)
                if (s == "" || substr(s, 1, 1) == "#") return 0
                if (key_at(s)) return 1
                n = length(s)
                for (i = 1; i <= n; i++) {
                        c = substr(s, i, 1)
                        if (c == "\\" && substr(s, i + 1, 1) == "\"") i++
                        else if (c == "\"") q = !q
                        else if (!q && (c == " " || c == "\t")) break
                }
                if (q) return 0
                s = substr(s, i)
                sub(/^[ \t]+/, "", s)
                return s != "" && key_at(s)
        }
        keys { revoked[$1 " " $2]; blob[++nb] = $2; next }
        holds($0) { print > ENVIRON["KR_R"]; next }
        {
                if (have) print pending
                pending = $0
                have = FNR
        }
        END { if (have) printf "%s%s", pending, ((nonl && have == FNR) ? "" : "\n") }' keys=1 "$W/keys" keys=0 "$W/snap" >"$W/new"
}

log_removed() {
        if [ ! -d "$LOG_DIR" ]; then mkdir -m 0700 "$LOG_DIR" || return; fi
        KR_F=$1 awk -v ts="$(date -u +%Y-%m-%dT%H:%M:%SZ)" '{ sub(/\r$/, ""); print ts "\t" ENVIRON["KR_F"] "\t" $0 }' \
                "$W/removed" >>"$LOG_DIR/removed-keys" && chmod 0600 "$LOG_DIR/removed-keys"
}

# clean_file FLAG PATH HOME: one authorized-keys file of an account (FLAG from akf_paths).
clean_file() {
        [ -e "$2" ] || [ -L "$2" ] || return 0
        r=$(readlink -f -- "$2")
        [ -e "$r" ] || return 0
        if grep -F -x -q -e "$r" "$W/seen"; then return 0; fi
        say "$r" >>"$W/seen"
        if [ "$1" = h ] && [ "$3" != / ]; then
                case $r in
                "$3"/*) ;;
                *)
                        if [ -f "$r" ]; then maybe_unclean 0 0 "$2" "leads out of the home (to $r): not followed"; fi
                        return
                        ;;
                esac
        fi
        [ -f "$r" ] || { say "skipped $r: not a regular file (sshd ignores it)"; return; }
        # shellcheck disable=SC2046 # three numbers
        set -- $(stat -c '%u %g %a' -- "$r")
        o=$(tree_owner "$r")
        if [ -z "$o" ]; then maybe_unclean 0 0 "$r" "in a directory others can write: not rewritten"; return; fi
        if [ "$o" != 0 ] && { [ "$1" != "$o" ] || [ "$can_switch" = no ]; }; then
                maybe_unclean 0 0 "$r" "owned by uid $1 in directories of uid $o: not rewritten"
                return
        fi
        as_uid "$o" "$2" head -c $((MAX_BYTES + 1)) -- "$r" >"$W/snap" 2>/dev/null || { unclean_file "$r" unreadable; return; }
        if [ "$(wc -c <"$W/snap")" -gt "$MAX_BYTES" ]; then
                maybe_unclean "$o" "$2" "$r" "larger than $MAX_BYTES bytes: not rewritten"
                return
        fi
        grep -F -q -f "$W/blobs" "$W/snap" || return 0
        if [ "$(tr -d '\000' <"$W/snap" | wc -c)" -ne "$(wc -c <"$W/snap")" ]; then
                unclean_file "$r" "binary content: not rewritten"
                return
        fi
        split_lines && n=$(grep -c '' "$W/removed") && [ "$n" -gt 0 ] || return 0
        replace "$r" "$1" "$2" "$3" "$W/new" "$o" || { unclean_file "$r" "cannot be replaced"; return; }
        removed=$((removed + n)) files=$((files + 1))
        say "cleaned $r: removed $n line(s)"
        log_removed "$r" || say "cannot append to $LOG_DIR/removed-keys"
}

# Step 2: every account's authorized-keys files; a per-user sshd -T when the config has Match
# blocks (which may name other files for a user; the global ones are looked at too).
clean_accounts() {
        : >"$W/seen"
        match=no
        if [ "$T_ok" = yes ] && grep -q -i '^[[:space:]]*match[[:space:]]' "$CONFIG" "$DROPIN_DIR"/*.conf 2>/dev/null; then
                match=yes
        fi
        while IFS=: read -r name _ uid _ _ home _ <&3; do
                case $uid in '' | *[!0-9]*) continue ;; esac
                case $home in /*) ;; *) continue ;; esac
                pats=$akf
                case $match:$name in
                yes:*[,=[:space:]]* | no:*) ;;
                *) if sshd_T -C "user=$name"; then pats="$(T_value authorizedkeysfile) $akf"; fi ;;
                esac
                hc=
                if [ -d "$home" ]; then hc=$(readlink -f -- "$home"); fi
                akf_paths "$pats" "$home" "$name" "$uid" >"$W/paths"
                while read -r flag path <&4; do
                        if [ "$flag" = a ] || [ -n "$hc" ]; then clean_file "$flag" "$path" "$hc"; fi
                done 4<"$W/paths"
        done 3<"$W/passwd"
}

main() {
        digest=$(printf '%s\n' "${KEYREVOKE_KEYS-}" | sha256sum | cut -c 1-16)
        if ! validate; then
                sshd_state=unchanged
                summary invalid-input
                return 3
        fi
        if [ "$(id -u)" != 0 ] || ! setup; then
                say "cannot start (not root, or no temp directory or passwd database)"
                summary failed
                return 1
        fi
        revoked_keys
        clean_accounts
        if [ "$rk_ok" = yes ]; then
                summary contained
                return 0
        fi
        summary failed
        return 1
}

main </dev/null 2>&1
