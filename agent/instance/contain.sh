# keyrevoke containment: runs ON an ECS instance, as root, through Cloud Assistant RunCommand.
#
# keyrevoked sends this text preceded by one line, KEYREVOKE_KEYS='TYPE BLOB<newline>TYPE BLOB...'
# (the revoked public keys; data only, validated again here). The script then:
#   1. puts every key into the RevokedKeys file sshd uses: the one sshd_config already names
#      (a flat key list is extended, a binary KRL updated with ssh-keygen -k -u), or else
#      /etc/ssh/keyrevoke_revoked_keys, switched on by /etc/ssh/sshd_config.d/00-keyrevoke.conf
#      (or a RevokedKeys line at the top of sshd_config when it includes no sshd_config.d);
#      files are replaced by temp file + rename, checked with sshd -t and sshd -T, and every
#      change is undone if sshd rejects it; sshd is reloaded only when its config changed;
#   2. removes the lines holding a revoked key (type and blob, whatever options precede them)
#      from the authorized-keys files of every account in the passwd database (sshd's
#      AuthorizedKeysFile, plus the default .ssh/authorized_keys and .ssh/authorized_keys2),
#      keeping every other line, the owner and the mode; removed lines are appended to
#      /var/lib/keyrevoke/removed-keys. A file is read and rewritten with the rights of the
#      account that owns its directories, so a symlink swapped in mid-run gains that account
#      nothing; symlinks leading out of the home, non-regular, unreadable, binary or too big
#      files are never edited (reported as unclean when they may hold a key);
#   3. prints what it did, and last one summary line (Cloud Assistant keeps only the tail):
#      KEYREVOKE-CONTAIN v1 status=S keys=K digest=D removed=R files=F unclean=U revokedkeys=P sshd=X
#      Exit status: 0 contained, 1 failed, 3 invalid input.
# Running it again with the same keys changes nothing. Needs only POSIX sh, coreutils, grep, sed,
# awk and OpenSSH's sshd and ssh-keygen (getent and systemctl when present).

KR_TYPES="ssh-rsa ssh-dss ssh-ed25519 ecdsa-sha2-nistp256 ecdsa-sha2-nistp384 ecdsa-sha2-nistp521
sk-ssh-ed25519@openssh.com sk-ecdsa-sha2-nistp256@openssh.com"
KR_MAX_KEYS=1000
KR_MAX_BLOB_CHARS=16384
KR_MAX_FILE_BYTES=1048576
KR_TIMEOUT_SEC=20
KR_STATE_DIR=/var/lib/keyrevoke
KR_REMOVED_LOG=$KR_STATE_DIR/removed-keys
KR_SSHD_CONFIG=/etc/ssh/sshd_config
KR_DROPIN_DIR=/etc/ssh/sshd_config.d
KR_DROPIN=$KR_DROPIN_DIR/00-keyrevoke.conf
KR_OWN_KEYS=/etc/ssh/keyrevoke_revoked_keys
KR_DEFAULT_AKF=".ssh/authorized_keys .ssh/authorized_keys2"

LC_ALL=C
export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 077

kr_keys=0
kr_removed=0
kr_files=0
kr_unclean=0
kr_revoked=-
kr_sshd=failed
kr_rk_ok=no
kr_config_changed=no
kr_work=""

kr_say() {
        printf '%s\n' "$*"
}

kr_summary() {
        printf 'KEYREVOKE-CONTAIN v1 status=%s keys=%s digest=%s removed=%s files=%s unclean=%s revokedkeys=%s sshd=%s\n' \
                "$1" "$kr_keys" "$kr_digest" "$kr_removed" "$kr_files" "$kr_unclean" "$kr_revoked" "$kr_sshd"
}

# Checks KEYREVOKE_KEYS against the contract (one "TYPE BLOB" per line, known types, base64
# blobs) and sets kr_keys; prints why and fails otherwise. Touches nothing.
kr_validate() {
        if [ -z "${KEYREVOKE_KEYS:-}" ]; then
                kr_say "KEYREVOKE_KEYS is unset or empty"
                return 1
        fi
        _out=$(printf '%s\n' "$KEYREVOKE_KEYS" | KR_T=$KR_TYPES awk -v max="$KR_MAX_KEYS" \
                -v maxblob="$KR_MAX_BLOB_CHARS" '
                BEGIN { n = split(ENVIRON["KR_T"], t); for (i = 1; i <= n; i++) known[t[i]] = 1 }
                NR > max { print "more than " max " keys"; bad = 1; exit }
                {
                        sp = index($0, " ")
                        type = substr($0, 1, sp - 1)
                        blob = substr($0, sp + 1)
                        if (sp == 0 || !(type in known)) {
                                print "key line " NR ": not a known key type"; bad = 1
                        } else if (blob !~ /^[A-Za-z0-9+\/]+(=|==)?$/ || length(blob) > maxblob) {
                                print "key line " NR ": the key is not base64"; bad = 1
                        }
                }
                END { if (bad) exit 1; print NR }')
        _rc=$?
        if [ "$_rc" -ne 0 ]; then
                kr_say "$_out"
                return 1
        fi
        kr_keys=$_out
}

# Runs CMD... with the given uid and gid (as is for uid 0), killed after KR_TIMEOUT_SEC.
kr_as() {
        _uid=$1
        _gid=$2
        shift 2
        if [ "$_uid" = 0 ]; then
                timeout "$KR_TIMEOUT_SEC" "$@"
        else
                timeout "$KR_TIMEOUT_SEC" chroot --userspec="$_uid:$_gid" --groups="$_gid" / "$@"
        fi
}

# sh -c program: replaces $1 atomically with stdin (temp file in the same directory, owner $2,
# mode $3, synced, renamed over). Run through kr_as with the rights of whoever owns the directory.
# shellcheck disable=SC2016 # expanded by that shell
KR_REPLACE='umask 077
tmp=$(mktemp "${1%/*}/.keyrevoke.XXXXXX") || exit 1
if cat >"$tmp" && chown "$2" "$tmp" && chmod "$3" "$tmp" && { sync -- "$tmp" 2>/dev/null || sync; } &&
        mv -f -- "$tmp" "$1"; then
        sync -- "${1%/*}" 2>/dev/null
        exit 0
fi
rm -f -- "$tmp"
exit 1'

# kr_replace FILE UID GID MODE SOURCE [RUN_UID]: FILE gets SOURCE's bytes, owner UID:GID, MODE.
kr_replace() {
        kr_as "${6:-0}" "$3" sh -c "$KR_REPLACE" keyrevoke-replace "$1" "$2:$3" "$4" <"$5"
}

# sshd -T [ARGS] into $kr_work/T. Creates sshd's privilege separation directory when it is
# missing (as its systemd unit does at start), since sshd refuses to test a config without it.
kr_sshd_T() {
        "$kr_sshd_bin" -T "$@" >"$kr_work/T" 2>"$kr_work/T.err" && return 0
        _dir=$(tr -d '\r' <"$kr_work/T.err" | sed -n 's/^Missing privilege separation directory: \(\/[^ ]*\)$/\1/p')
        if [ -n "$_dir" ] && [ ! -e "$_dir" ] && mkdir -m 0755 "$_dir"; then
                kr_say "created sshd's missing privilege separation directory $_dir"
                "$kr_sshd_bin" -T "$@" >"$kr_work/T" 2>"$kr_work/T.err" && return 0
        fi
        return 1
}

# The value of sshd -T's KEYWORD (lowercase) in $kr_work/T.
kr_T_value() {
        awk -v k="$1" '$1 == k { sub(/^[^ ]+ /, ""); print; exit }' "$kr_work/T"
}

kr_setup() {
        kr_work=$(mktemp -d "${TMPDIR:-/tmp}/keyrevoke.XXXXXX") || {
                kr_say "cannot create a temporary directory"
                return 1
        }
        trap 'rm -rf "$kr_work"' EXIT
        trap 'exit 1' HUP INT TERM
        printf '%s\n' "$KEYREVOKE_KEYS" >"$kr_work/keys"
        cut -d ' ' -f 2 "$kr_work/keys" >"$kr_work/blobs"
        if command -v getent >/dev/null 2>&1; then
                getent passwd >"$kr_work/passwd"
        else
                cat /etc/passwd >"$kr_work/passwd"
        fi || {
                kr_say "cannot read the passwd database"
                return 1
        }
        kr_can_switch=no
        if chroot --userspec=65534:65534 --groups=65534 / true 2>/dev/null; then kr_can_switch=yes; fi
        kr_sshd_bin=$(command -v sshd)
        kr_akf=$KR_DEFAULT_AKF
        kr_T_ok=no
        if [ -z "$kr_sshd_bin" ]; then
                kr_say "sshd not found"
        elif kr_sshd_T; then
                kr_T_ok=yes
                kr_akf="$(kr_T_value authorizedkeysfile) $KR_DEFAULT_AKF"
        else
                kr_say "sshd -T failed:"
                head -n 5 "$kr_work/T.err"
        fi
}

# ---- RevokedKeys --------------------------------------------------------------------------

# Writes the keys ssh-keygen can parse to $kr_work/usable (a line sshd cannot parse in a flat
# RevokedKeys list would make it refuse every key; a key it cannot parse cannot log in anyway).
kr_usable_keys() {
        : >"$kr_work/usable"
        _n=0
        while IFS= read -r _key <&3; do
                _n=$((_n + 1))
                printf '%s\n' "$_key" >"$kr_work/one.pub"
                if ssh-keygen -l -f "$kr_work/one.pub" >/dev/null 2>&1; then
                        printf '%s\n' "$_key" >>"$kr_work/usable"
                else
                        kr_say "key line $_n: not a public key this OpenSSH can read; left out of RevokedKeys"
                fi
        done 3<"$kr_work/keys"
}

# Prints the usable keys that the RevokedKeys file $1 (kind $2: flat or krl) does not revoke yet.
kr_missing_keys() {
        if [ "$2" = flat ]; then
                awk 'inlist {
                        sub(/^[ \t]+/, "")
                        split($0, f, /[ \t]+/)
                        gsub(/\r/, "", f[2])
                        have[f[1] " " f[2]] = 1
                        next
                }
                !($0 in have) && !seen[$0]++' inlist=1 "$1" inlist=0 "$kr_work/usable"
                return
        fi
        while IFS= read -r _key <&3; do
                printf '%s\n' "$_key" >"$kr_work/one.pub"
                _q=$(ssh-keygen -Q -f "$1" "$kr_work/one.pub" 2>&1)
                case $_q in
                *": REVOKED") ;;
                *": ok") printf '%s\n' "$_key" ;;
                *) kr_say "ssh-keygen -Q $1: $_q"; return 1 ;;
                esac
        done 3<"$kr_work/usable"
}

# Remembers FILE's current state (content, owner, mode, or absence) for kr_rollback.
kr_backup() {
        _b=$kr_work/backup.$(($(wc -l <"$kr_work/backups") + 1))
        if [ -e "$1" ]; then
                cp -p -- "$1" "$_b" || return 1
                printf '%s %s\n' "$_b" "$1" >>"$kr_work/backups"
        else
                printf '%s %s\n' - "$1" >>"$kr_work/backups"
        fi
}

kr_rollback() {
        while read -r _b _f <&3; do
                if [ "$_b" = - ]; then
                        rm -f -- "$_f" && kr_say "rolled back: removed $_f"
                else
                        # shellcheck disable=SC2046 # stat prints three numbers
                        kr_replace "$_f" $(stat -c '%u %g %a' -- "$_b") "$_b" &&
                                kr_say "rolled back: restored $_f"
                fi || kr_say "ROLLBACK FAILED for $_f"
        done 3<"$kr_work/backups"
}

# kr_install FILE SOURCE MODE: replaces FILE (root's, in root's directories) with SOURCE,
# keeping FILE's owner and mode when it exists, after a backup.
kr_install() {
        kr_backup "$1" || return 1
        if [ -e "$1" ]; then
                # shellcheck disable=SC2046 # stat prints three numbers
                set -- "$1" "$2" $(stat -c '%u %g %a' -- "$1")
        else
                set -- "$1" "$2" 0 0 "$3"
        fi
        kr_replace "$1" "$3" "$4" "$5" "$2"
}

# Puts the missing keys into the RevokedKeys file $1 (created as a flat list if absent).
kr_extend_keys_file() {
        if [ -e "$1" ] && [ ! -f "$1" ]; then
                kr_say "RevokedKeys $1 is not a regular file"
                return 1
        fi
        _kind=flat
        if [ -f "$1" ] && [ "$(head -c 6 -- "$1")" = SSHKRL ]; then _kind=krl; fi
        if [ -f "$1" ]; then
                kr_missing_keys "$1" "$_kind" >"$kr_work/missing" || return 1
        else
                cp "$kr_work/usable" "$kr_work/missing"
        fi
        _n=$(awk 'END { print NR }' "$kr_work/missing")
        if [ "$_n" -eq 0 ] && [ -f "$1" ]; then
                kr_say "RevokedKeys $1 ($_kind) already revokes every key"
                return 0
        fi
        if [ "$_kind" = krl ]; then
                if ! cp -p -- "$1" "$kr_work/new" ||
                        ! ssh-keygen -k -u -f "$kr_work/new" "$kr_work/missing" >"$kr_work/keygen.out" 2>&1; then
                        kr_say "ssh-keygen -k -u failed on a copy of $1:"
                        head -n 5 "$kr_work/keygen.out"
                        return 1
                fi
        elif [ -f "$1" ]; then
                {
                        cat -- "$1"
                        if [ -s "$1" ] && [ -n "$(tail -c 1 -- "$1")" ]; then echo; fi
                        cat "$kr_work/missing"
                } >"$kr_work/new"
        else
                {
                        echo "# Revoked SSH public keys (sshd RevokedKeys), kept by keyrevoke's containment script."
                        cat "$kr_work/missing"
                } >"$kr_work/new"
        fi
        kr_install "$1" "$kr_work/new" 644 || {
                kr_say "cannot write $1"
                return 1
        }
        kr_say "RevokedKeys $1 ($_kind): added $_n key(s)"
}

# True when sshd_config (before any Match block) includes /etc/ssh/sshd_config.d/*.conf.
kr_includes_dropins() {
        [ -d "$KR_DROPIN_DIR" ] || return 1
        awk 'tolower($1) == "match" { exit }
        tolower($1) == "include" {
                for (i = 2; i <= NF; i++) {
                        gsub(/"/, "", $i)
                        if ($i == "/etc/ssh/sshd_config.d/*.conf" || $i == "sshd_config.d/*.conf") found = 1
                }
        }
        END { exit !found }' "$KR_SSHD_CONFIG"
}

# Switches RevokedKeys $KR_OWN_KEYS on: a drop-in, or a line at the top of sshd_config (sshd
# takes the first value it reads, and a line at the end could fall inside a Match block).
kr_configure() {
        if kr_includes_dropins; then
                printf '%s\n' "# keyrevoke: refuse revoked SSH keys (written by keyrevoke's containment script)" \
                        "RevokedKeys $KR_OWN_KEYS" >"$kr_work/dropin"
                kr_install "$KR_DROPIN" "$kr_work/dropin" 644 || return 1
                kr_config_changed=yes
                kr_say "wrote $KR_DROPIN"
                return 0
        fi
        _cfg=$(readlink -f -- "$KR_SSHD_CONFIG")
        if awk 'tolower($1) == "revokedkeys" { found = 1 } END { exit !found }' "$_cfg"; then
                kr_say "$_cfg has a RevokedKeys line already (none, or inside a Match block) and no Include of $KR_DROPIN_DIR: not changed"
                return 1
        fi
        {
                echo "# keyrevoke: refuse revoked SSH keys (added by keyrevoke's containment script)"
                echo "RevokedKeys $KR_OWN_KEYS"
                cat -- "$_cfg"
        } >"$kr_work/config"
        kr_install "$_cfg" "$kr_work/config" 644 || return 1
        kr_config_changed=yes
        kr_say "added RevokedKeys $KR_OWN_KEYS at the top of $_cfg (no Include of $KR_DROPIN_DIR)"
}

# Is process $1 a live sshd (not a zombie)?
kr_is_sshd() {
        [ "$(cat "/proc/$1/comm" 2>/dev/null)" = sshd ] &&
                awk '$1 == "State:" { live = $2 != "Z" } END { exit !live }' "/proc/$1/status" 2>/dev/null
}

# The pid of the running sshd from its PidFile, if that process is an sshd.
kr_sshd_pid() {
        _pidfile=$(kr_T_value pidfile)
        [ -n "$_pidfile" ] && [ -f "$_pidfile" ] || return 1
        _pid=$(head -n 1 -- "$_pidfile")
        case $_pid in '' | *[!0-9]*) return 1 ;; esac
        kr_is_sshd "$_pid" || return 1
        echo "$_pid"
}

# Makes the running sshd read its new config; sets kr_sshd.
kr_reload() {
        if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
                for _unit in ssh.service sshd.service; do
                        systemctl is-active --quiet "$_unit" || continue
                        if systemctl reload "$_unit"; then kr_sshd=reloaded; else kr_sshd=failed; fi
                        kr_say "systemctl reload $_unit: $kr_sshd"
                        return
                done
        fi
        if ! _pid=$(kr_sshd_pid); then
                kr_sshd=not-running
                kr_say "no sshd running: its config is written and tested"
                return
        fi
        kill -HUP "$_pid"
        sleep 1
        if kr_is_sshd "$_pid"; then
                kr_sshd=reloaded
        else
                kr_sshd=failed
        fi
        kr_say "SIGHUP to sshd (pid $_pid): $kr_sshd"
}

# Step 1: every usable key in the RevokedKeys file sshd uses; sets kr_revoked, kr_sshd, kr_rk_ok.
kr_revoked_keys() {
        if [ "$kr_T_ok" = no ]; then
                if [ -z "$kr_sshd_bin" ]; then kr_sshd=not-running; fi
                return
        fi
        if ! command -v ssh-keygen >/dev/null 2>&1; then
                kr_say "ssh-keygen not found: the keys cannot be checked, RevokedKeys not changed"
                return
        fi
        kr_usable_keys
        : >"$kr_work/backups"
        _path=$(kr_T_value revokedkeys)
        _config_changed=no
        if [ -z "$_path" ] || [ "$_path" = none ]; then
                _path=$KR_OWN_KEYS
                _config_changed=yes
                kr_say "sshd has no RevokedKeys file: using $_path"
        elif [ ! -e "$_path" ]; then
                kr_say "sshd's RevokedKeys file $_path is missing (sshd refuses every key): creating it"
        fi
        _real=$(readlink -f -- "$_path")
        if [ -z "$_real" ]; then kr_say "RevokedKeys $_path: its directory does not exist"; fi
        # Written first, so sshd is never configured with a RevokedKeys file that does not exist.
        if [ -n "$_real" ] && kr_extend_keys_file "$_real" &&
                { [ "$_config_changed" = no ] || kr_configure; }; then
                kr_check_config "$_path" && return
        fi
        kr_rollback
        kr_sshd=failed
}

# After a change: sshd -t, sshd -T naming $1, every usable key revoked, reload; else fails.
kr_check_config() {
        if ! "$kr_sshd_bin" -t >"$kr_work/t.err" 2>&1; then
                kr_say "sshd -t rejected the new config:"
                head -n 5 "$kr_work/t.err"
                return 1
        fi
        if ! kr_sshd_T || [ "$(kr_T_value revokedkeys)" != "$1" ]; then
                kr_say "sshd -T does not name $1 as RevokedKeys after the change"
                return 1
        fi
        _real=$(readlink -f -- "$1")
        _kind=flat
        if [ "$(head -c 6 -- "$_real")" = SSHKRL ]; then _kind=krl; fi
        if [ ! -f "$_real" ] || [ ! -r "$_real" ] || ! kr_missing_keys "$_real" "$_kind" >"$kr_work/missing" || [ -s "$kr_work/missing" ]; then
                kr_say "$1 does not revoke every key after the change"
                return 1
        fi
        if [ "$kr_config_changed" = yes ]; then
                kr_reload
                [ "$kr_sshd" != failed ] || return 1
        else
                kr_sshd=unchanged
        fi
        kr_revoked=$1
        kr_rk_ok=yes
}

# ---- authorized-keys files ----------------------------------------------------------------

# Prints "FLAG PATH" for each authorized-keys file of an account: the patterns $1 with %h %u %U
# %% expanded (sshd's tokens for AuthorizedKeysFile), relative ones taken from the home.
# FLAG is "h" for a file named from the home (it must stay inside it), "a" for an absolute one.
kr_expand() {
        printf '%s\n' "$1" | KR_H=$2 KR_U=$3 KR_UID=$4 awk '{
                for (i = 1; i <= NF; i++) {
                        p = $i
                        if (p == "none") continue
                        flag = (substr(p, 1, 1) != "/" || substr(p, 1, 2) == "%h") ? "h" : "a"
                        out = ""
                        ok = 1
                        while ((j = index(p, "%")) > 0) {
                                c = substr(p, j + 1, 1)
                                out = out substr(p, 1, j - 1)
                                if (c == "%") out = out "%"
                                else if (c == "h") out = out ENVIRON["KR_H"]
                                else if (c == "u") out = out ENVIRON["KR_U"]
                                else if (c == "U") out = out ENVIRON["KR_UID"]
                                else { ok = 0; break }
                                p = substr(p, j + 2)
                        }
                        if (!ok) continue
                        out = out p
                        if (substr(out, 1, 1) != "/") out = ENVIRON["KR_H"] "/" out
                        if (!seen[out]++) print flag " " out
                }
        }'
}

# The uid that controls the directories holding FILE: 0 when only root can change them, the
# account owning one of them, or nothing when several accounts, or a group or anyone, can.
kr_tree_owner() {
        _d=${1%/*}
        set --
        while [ -n "$_d" ]; do
                set -- "$@" "$_d"
                _d=${_d%/*}
        done
        _st=$(stat -c '%u %g %a' -- "$@" /) || return 1
        printf '%s\n' "$_st" | awk '{
                m = 0
                for (i = 1; i <= length($3); i++) m = m * 8 + substr($3, i, 1)
                sticky = int(m / 512) % 2
                if (!sticky && (int(m / 2) % 2 || ($2 != 0 && int(m / 16) % 2))) bad = 1
                if ($1 != 0) { if (owner == "") owner = $1; else if (owner != $1) bad = 1 }
        }
        END { if (!bad) print (owner == "" ? 0 : owner) }'
}

# Does FILE (read as UID:GID) hold a revoked blob anywhere?
kr_holds_blob() {
        kr_as "$1" "$2" cat -- "$3" 2>/dev/null | grep -F -q -f "$kr_work/blobs"
}

kr_unclean_file() {
        kr_unclean=$((kr_unclean + 1))
        kr_say "unclean $1: $2"
}

# Removes the revoked keys' lines from $kr_work/snap into $kr_work/new (kept lines, byte for
# byte) and $kr_work/removed. A line's key is found as sshd finds it: TYPE BLOB at the start,
# else after the options, which may hold double-quoted strings with blanks (\" escapes a quote).
kr_split_lines() {
        : >"$kr_work/removed"
        _nonl=0
        if [ -n "$(tail -c 1 "$kr_work/snap")" ]; then _nonl=1; fi
        KR_REMOVED=$kr_work/removed awk -v nonl="$_nonl" '
        function revoked_at(s,    t, b) {
                t = s
                sub(/[ \t].*/, "", t)
                b = substr(s, length(t) + 1)
                sub(/^[ \t]+/, "", b)
                sub(/[ \t].*/, "", b)
                gsub(/\r/, "", b)
                return (t " " b) in revoked
        }
        function holds_revoked(s,    i, c, n, q, any) {
                for (i = 1; i <= nblobs; i++) if (index(s, blobs[i])) any = 1
                if (!any) return 0
                sub(/^[ \t]+/, "", s)
                if (s == "" || substr(s, 1, 1) == "#") return 0
                if (revoked_at(s)) return 1
                n = length(s)
                q = 0
                for (i = 1; i <= n; i++) {
                        c = substr(s, i, 1)
                        if (c == "\\" && substr(s, i + 1, 1) == "\"") i++
                        else if (c == "\"") q = !q
                        else if (!q && (c == " " || c == "\t")) break
                }
                if (q) return 0
                s = substr(s, i)
                sub(/^[ \t]+/, "", s)
                return s != "" && revoked_at(s)
        }
        BEGIN { removed = ENVIRON["KR_REMOVED"] }
        keys { revoked[$1 " " $2] = 1; blobs[++nblobs] = $2; next }
        holds_revoked($0) { print > removed; next }
        {
                if (have) printf "%s\n", pending
                pending = $0
                have = 1
                pnr = FNR
        }
        END {
                if (!have) exit
                if (nonl && pnr == FNR) printf "%s", pending
                else printf "%s\n", pending
        }' keys=1 "$kr_work/keys" keys=0 "$kr_work/snap" >"$kr_work/new"
}

kr_log_removed() {
        if [ ! -d "$KR_STATE_DIR" ]; then mkdir -m 0700 "$KR_STATE_DIR" || return 1; fi
        KR_F=$1 awk -v ts="$(date -u +%Y-%m-%dT%H:%M:%SZ)" '{ sub(/\r$/, ""); print ts "\t" ENVIRON["KR_F"] "\t" $0 }' \
                "$kr_work/removed" >>"$KR_REMOVED_LOG" && chmod 0600 "$KR_REMOVED_LOG"
}

# kr_clean_file FLAG PATH HOME: one authorized-keys file of an account (FLAG from kr_expand).
kr_clean_file() {
        [ -e "$2" ] || [ -L "$2" ] || return 0
        _r=$(readlink -f -- "$2")
        [ -n "$_r" ] && [ -e "$_r" ] || return 0
        if grep -F -x -q -e "$_r" "$kr_work/seen"; then return 0; fi
        printf '%s\n' "$_r" >>"$kr_work/seen"
        if [ "$1" = h ] && [ "$3" != / ]; then
                case $_r in
                "$3"/*) ;;
                *)
                        if [ -f "$_r" ] && kr_holds_blob 0 0 "$_r"; then
                                kr_unclean_file "$2" "leads out of the home (to $_r): not followed"
                        fi
                        return 0
                        ;;
                esac
        fi
        if [ ! -f "$_r" ]; then
                kr_say "skipped $_r: not a regular file (sshd ignores it)"
                return 0
        fi
        # shellcheck disable=SC2046 # stat prints four numbers
        set -- "$_r" $(stat -c '%u %g %a %s' -- "$_r")
        _uid=$2 _gid=$3 _mode=$4
        _owner=$(kr_tree_owner "$1")
        if [ -z "$_owner" ]; then
                if kr_holds_blob 0 0 "$1"; then kr_unclean_file "$1" "in a directory others can write: not rewritten"; fi
                return 0
        fi
        if [ "$_owner" != 0 ] && { [ "$_uid" != "$_owner" ] || [ "$kr_can_switch" = no ]; }; then
                if kr_holds_blob 0 0 "$1"; then
                        kr_unclean_file "$1" "owned by uid $_uid in directories of uid $_owner: not rewritten"
                fi
                return 0
        fi
        if ! kr_as "$_owner" "$_gid" head -c $((KR_MAX_FILE_BYTES + 1)) -- "$1" >"$kr_work/snap" 2>/dev/null; then
                kr_unclean_file "$1" "unreadable"
                return 0
        fi
        if [ "$(wc -c <"$kr_work/snap")" -gt "$KR_MAX_FILE_BYTES" ]; then
                if kr_holds_blob "$_owner" "$_gid" "$1"; then
                        kr_unclean_file "$1" "larger than $KR_MAX_FILE_BYTES bytes: not rewritten"
                fi
                return 0
        fi
        grep -F -q -f "$kr_work/blobs" "$kr_work/snap" || return 0
        if [ "$(tr -d '\000' <"$kr_work/snap" | wc -c)" -ne "$(wc -c <"$kr_work/snap")" ]; then
                kr_unclean_file "$1" "binary content: not rewritten"
                return 0
        fi
        kr_split_lines || {
                kr_unclean_file "$1" "cannot be parsed"
                return 0
        }
        _n=$(awk 'END { print NR }' "$kr_work/removed")
        [ "$_n" -gt 0 ] || return 0
        if ! kr_replace "$1" "$_uid" "$_gid" "$_mode" "$kr_work/new" "$_owner"; then
                kr_unclean_file "$1" "cannot be replaced"
                return 0
        fi
        kr_removed=$((kr_removed + _n))
        kr_files=$((kr_files + 1))
        kr_say "cleaned $1: removed $_n line(s)"
        kr_log_removed "$1" || kr_say "cannot append to $KR_REMOVED_LOG"
}

# Step 2: every account's authorized-keys files. The per-user sshd -T only runs when the config
# has Match blocks (which may give a user other files, looked at besides the global ones).
kr_clean_accounts() {
        : >"$kr_work/seen"
        _match=no
        if [ "$kr_T_ok" = yes ] && grep -q -i -E '^[[:space:]]*match[[:space:]]' "$KR_SSHD_CONFIG" \
                "$KR_DROPIN_DIR"/*.conf 2>/dev/null; then
                _match=yes
        fi
        while IFS=: read -r _name _ _uid _ _ _home _ <&3; do
                case $_uid in '' | *[!0-9]*) continue ;; esac
                case $_home in /*) ;; *) continue ;; esac
                _patterns=$kr_akf
                case $_match:$_name in
                yes:*[,=[:space:]]* | no:*) ;;
                yes:*)
                        if kr_sshd_T -C "user=$_name"; then
                                _patterns="$(kr_T_value authorizedkeysfile) $kr_akf"
                        fi
                        ;;
                esac
                _home_c=""
                if [ -d "$_home" ]; then _home_c=$(readlink -f -- "$_home"); fi
                kr_expand "$_patterns" "$_home" "$_name" "$_uid" >"$kr_work/paths"
                while read -r _flag _path <&4; do
                        if [ "$_flag" = h ] && [ -z "$_home_c" ]; then continue; fi
                        kr_clean_file "$_flag" "$_path" "$_home_c"
                done 4<"$kr_work/paths"
        done 3<"$kr_work/passwd"
}

kr_main() {
        kr_digest=$(printf '%s\n' "${KEYREVOKE_KEYS-}" | sha256sum | cut -c 1-16)
        if ! kr_validate; then
                kr_keys=0
                kr_sshd=unchanged
                kr_summary invalid-input
                return 3
        fi
        if [ "$(id -u)" != 0 ]; then
                kr_say "must run as root"
                kr_summary failed
                return 1
        fi
        if ! kr_setup; then
                kr_summary failed
                return 1
        fi
        kr_revoked_keys
        kr_clean_accounts
        if [ "$kr_rk_ok" = yes ]; then
                kr_summary contained
                return 0
        fi
        kr_revoked=-
        kr_summary failed
        return 1
}

kr_main </dev/null 2>&1
