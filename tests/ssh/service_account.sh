#!/usr/bin/env bash
# The recommended server set-up (README, "A team on one office server"), end to end with
# real OS accounts: the service account crm_srv owns the database folder (0700); people
# come in through sudo and a wrapper that pins the database, or over SSH through a forced
# command per key with --ssh-command. Checks that a manager cannot read the file, cannot
# raise their role, cannot see a colleague's records, that the admin can, and that the
# forced command runs the client's command but refuses --db/--user in it.
# Run as root on a throw-away machine (it adds users and a sudoers file, removed after);
# prints PASS/FAIL lines and exits non-zero on the first failure.
# Usage: tests/ssh/service_account.sh [PATH_TO_TUI_CRM]  (see lib.sh for what happens without)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
PORT=${PORT:-2223}
e2e_workdir
e2e_tui "${1:-}"
e2e_packages
SRV=$WORK/srv            # /srv/crm on a real server
DB=$SRV/crm.sqlite3
CRM=$WORK/bin/crm        # /usr/local/bin/crm on a real server

e2e_accounts crm_srv crm_adm crm_mgr crm_col
install -d -m 700 -o crm_srv -g crm_srv "$SRV"

# The wrapper: the database is chosen here (sudo has reset the person's environment).
install -d -m 755 "$WORK/bin"
cat > "$CRM" <<EOF
#!/bin/sh
export TUI_CRM_DB=$DB TUI_CRM_LANG=en HOME=$(getent passwd crm_srv | cut -d: -f6)
exec $TUI "\$@"
EOF
chmod 755 "$CRM"
SUDOERS=/etc/sudoers.d/tui-crm-e2e-$$
echo "crm_adm, crm_mgr, crm_col ALL=(crm_srv) NOPASSWD: $CRM" > "$SUDOERS"
chmod 440 "$SUDOERS"
visudo -cqf "$SUDOERS" || fail "sudoers line rejected"
e2e_on_exit "rm -f '$SUDOERS'"

# Root creates the database as the service account (root's sudo acts as crm_srv itself),
# then registers the people.
sudo -u crm_srv "$CRM" init >/dev/null
sudo -u crm_srv "$CRM" user add crm_adm --role admin >/dev/null
sudo -u crm_srv "$CRM" user add crm_mgr --role manager >/dev/null
sudo -u crm_srv "$CRM" user add crm_col --role manager >/dev/null
pass "the service account created the database; three people registered"

refused() {  # refused COMMAND… — it must fail; its last line (the reason) is shown
    local out
    if out=$("$@" 2>&1); then fail "this went through: $*"; fi
    echo "    refused: $(echo "$out" | tr -d '\r' | tail -1 | cut -c1-150)"
}

by() {  # by USER ARGS… — USER runs `sudo -u crm_srv crm ARGS…` from a clean login
    local user=$1; shift
    su - "$user" -c "sudo -u crm_srv $CRM $*"
}

# Forced commands, one per key, in the service account's authorized_keys.
srv_home=$(getent passwd crm_srv | cut -d: -f6)
install -d -m 700 -o crm_srv -g crm_srv "$srv_home/.ssh"
for u in crm_mgr crm_col; do
    e2e_key "key_$u"
    echo "restrict,pty,command=\"env TUI_CRM_LANG=en $TUI --db $DB --user $u --ssh-command\" $(cat "$WORK/key_$u.pub")"
done > "$srv_home/.ssh/authorized_keys"
chown crm_srv "$srv_home/.ssh/authorized_keys" && chmod 600 "$srv_home/.ssh/authorized_keys"
e2e_sshd "$PORT"
key() {  # key USER COMMAND — over SSH with USER's key to the service account
    local user=$1; shift
    e2e_ssh "$PORT" "key_$user" crm_srv "$@"
}

# Each manager's own records (through sudo), and a payment on the colleague's client.
mine=$(by crm_mgr add organizations name=Org-of-mgr status=client)
theirs=$(by crm_col add organizations name=Org-of-col status=client)
by crm_col add contacts last_name=Contact-of-col organization="$theirs" >/dev/null
sudo -u crm_srv "$CRM" add payments date=2026-01-15 amount=777 organization="$theirs" \
    description=Payment-of-col >/dev/null
[ -n "$mine" ] && [ -n "$theirs" ] && pass "managers added their clients through sudo"

# 1. A manager cannot read the database file or its folder as their own account.
for attempt in "cat $DB" "ls $SRV" "$TUI --db $DB list organizations" \
        "python3 -c \"import sqlite3; sqlite3.connect('file:$DB?mode=ro', uri=True).execute('select * from user').fetchall()\""; do
    refused su - crm_mgr -c "$attempt"
done
for command in "list organizations" "find Org"; do  # said in one line, not a traceback
    out=$(su - crm_mgr -c "$TUI --db $DB $command" 2>&1 || true)
    [ "$out" = "tui-crm: No permission to read the database $DB." ] || fail "$command: $out"
done
pass "the database and its folder are closed to a manager's own account"

# 2. A manager cannot raise their role: not with --user, faked login variables, sudo's
#    variables, another --db, user set, nor over SSH.
role() { by crm_adm user list --json | python3 -c \
    "import json,sys; print({u['login']: u['role'] for u in json.load(sys.stdin)}['$1'])"; }
adm_uid=$(id -u crm_adm)
for attempt in \
        "sudo -u crm_srv $CRM --user crm_adm user set crm_mgr role=admin" \
        "sudo -u crm_srv $CRM user set crm_mgr role=admin" \
        "LOGNAME=crm_adm USER=crm_adm SUDO_USER=crm_adm SUDO_UID=$adm_uid sudo -u crm_srv $CRM user set crm_mgr role=admin" \
        "sudo -u crm_srv SUDO_UID=$adm_uid $CRM user set crm_mgr role=admin" \
        "sudo -u crm_srv $CRM --db /tmp/crm-mine.sqlite3 user set crm_mgr role=admin" \
        "LOGNAME=crm_srv USER=crm_srv SUDO_UID=$adm_uid $TUI --db $DB user set crm_mgr role=admin"; do
    refused su - crm_mgr -c "$attempt"
done
for attempt in "user set crm_mgr role=admin" "--user crm_adm user set crm_mgr role=admin" \
        "user set crm_mgr role=admin --user=crm_adm"; do
    refused key crm_mgr "$attempt"
done
E2E_SSH_OPTIONS=(-o "SetEnv=SUDO_UID=$adm_uid LOGNAME=crm_adm")
refused key crm_mgr "user set crm_mgr role=admin"
E2E_SSH_OPTIONS=()
[ "$(role crm_mgr)" = manager ] && [ ! -e /tmp/crm-mine.sqlite3 ] \
    && pass "a manager cannot raise their role (--user, LOGNAME/USER/SUDO_*, --db, user set, SSH)" \
    || fail "crm_mgr is $(role crm_mgr)"
out=$(by crm_mgr init --json)
echo "$out" | grep -q '"user": "crm_mgr"' && echo "$out" | grep -q '"role": "manager"' \
    && pass "through sudo the invoking account acts: $(echo "$out" | tr -d '\n ' | cut -c1-80)" \
    || fail "init as crm_mgr: $out"

# 3. A manager does not see a colleague's clients or contacts (payments: see the end).
orgs=$(by crm_mgr list organizations --json)
contacts=$(by crm_mgr list contacts --json)
echo "$orgs" | grep -q Org-of-mgr && ! echo "$orgs" | grep -q Org-of-col \
    && ! echo "$contacts" | grep -q Contact-of-col && ! by crm_mgr find Org-of-col --json | grep -q col \
    && pass "a manager sees only their own clients and contacts" \
    || fail "a colleague's records leak: $orgs $contacts"
refused by crm_mgr show organizations "$theirs"

# 4. The admin can: see everything, act as another user, change rights.
all=$(by crm_adm list organizations --json)
echo "$all" | grep -q Org-of-mgr && echo "$all" | grep -q Org-of-col \
    && by crm_adm list payments --json | grep -q Payment-of-col \
    && by crm_adm --user crm_mgr list organizations --json | grep -q Org-of-mgr \
    && by crm_adm user set crm_mgr can_export.organizations=yes >/dev/null \
    && pass "the admin sees every client and payment, acts as a manager, grants a right" \
    || fail "admin: $all"

# 5. The forced command runs the client's command as the key's user; files come to stdout.
out=$(key crm_mgr list organizations --json | tr -d '\r')
echo "$out" | grep -q Org-of-mgr && ! echo "$out" | grep -q Org-of-col \
    && pass "ssh crm_srv@server list organizations: the key's user, their rights" \
    || fail "forced list: $out"
key crm_mgr export organizations --format csv -o - > "$WORK/clients.csv"
grep -q Org-of-mgr "$WORK/clients.csv" && ! grep -q Org-of-col "$WORK/clients.csv" \
    && pass "ssh … export organizations --format csv -o - > clients.csv" \
    || fail "export to stdout: $(head -c 300 "$WORK/clients.csv")"
for attempt in "--db /tmp/crm-other.sqlite3 list organizations" "--user crm_adm list organizations" \
        "list organizations --user=crm_adm" "--demo list organizations" \
        "export organizations --format csv -o $srv_home/.ssh/authorized_keys"; do
    refused key crm_mgr "$attempt"
done
[ ! -e /tmp/crm-other.sqlite3 ] && grep -q ssh-ed25519 "$srv_home/.ssh/authorized_keys" \
    && pass "the forced command refuses --db/--user/--demo and file names in the command" \
    || fail "forced command side effects"

# 6. Wrong modes are said at start: the folder opened to every account.
chmod 755 "$SRV"
warned=$(by crm_mgr list organizations 2>&1 >/dev/null || true)
chmod 700 "$SRV"
echo "$warned" | grep -q "chmod 700 $SRV" && pass "an open folder is reported: $warned" \
    || fail "no warning for an open folder: $warned"

# 3b. Payments follow their client's visibility. Depends on the parallel work that makes
#     "own" visibility cover payments; until it lands, this is the line that fails.
payments=$(by crm_mgr list payments --json)
! echo "$payments" | grep -q Payment-of-col \
    && pass "a manager does not see a colleague's payments" \
    || fail "a colleague's payment is visible to a manager: $payments"
echo "ALL PASSED"
