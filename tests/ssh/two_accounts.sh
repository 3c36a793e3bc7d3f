#!/usr/bin/env bash
# The trusted-team set-up (rights advisory, README set-up A) over real SSH: sshd on
# 127.0.0.1, two OS users in a shared setgid group folder, and one service account with a
# forced command per key. Run as root on a throw-away machine (it adds users and a group);
# prints PASS/FAIL lines and exits non-zero on the first failure.
# Usage: tests/ssh/two_accounts.sh [PATH_TO_TUI_CRM]  (see lib.sh for what happens without)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
PORT=${PORT:-2222}
e2e_workdir
e2e_tui "${1:-}"
SHARED=$WORK/shared
DB=$SHARED/crm.sqlite3
e2e_packages

getent group crm >/dev/null || groupadd crm
e2e_accounts crm_anna crm_boris crm_svc
usermod -aG crm crm_anna && usermod -aG crm crm_boris
install -d -m 2770 -g crm "$SHARED"

# Keys and sshd on loopback only.
for u in crm_anna crm_boris; do
    e2e_key "$u"
    home=$(getent passwd "$u" | cut -d: -f6)
    install -d -m 700 -o "$u" -g "$u" "$home/.ssh"
    install -m 600 -o "$u" -g "$u" "$WORK/$u.pub" "$home/.ssh/authorized_keys"
    echo "export TUI_CRM_DB=$DB TUI_CRM_LANG=en" > "$home/.tui-crm-env"
    chown "$u" "$home/.tui-crm-env"
done
# The service account: one forced command per person's key.
svc_home=$(getent passwd crm_svc | cut -d: -f6)
install -d -m 700 -o crm_svc -g crm_svc "$svc_home/.ssh"
e2e_key svc_anna
e2e_key svc_boris
install -d -m 700 -o crm_svc -g crm_svc "$WORK/svc"  # only the service account enters it
SVC_DB=$WORK/svc/crm.sqlite3
{
    echo "restrict,pty,command=\"env TUI_CRM_LANG=en $TUI --db $SVC_DB --user anna reminders --due --json\" $(cat "$WORK/svc_anna.pub")"
    echo "restrict,pty,command=\"env TUI_CRM_LANG=en $TUI --db $SVC_DB --user boris reminders --due --json\" $(cat "$WORK/svc_boris.pub")"
} > "$svc_home/.ssh/authorized_keys"
chown crm_svc "$svc_home/.ssh/authorized_keys" && chmod 600 "$svc_home/.ssh/authorized_keys"
e2e_sshd "$PORT"

as() {  # as USER COMMAND… — run over SSH as that OS user
    local user=$1; shift
    e2e_ssh "$PORT" "$user" "$user" ". ~/.tui-crm-env; $*"
}

# 1. The first user creates the database (mode 0660 in the setgid folder) and is admin.
as crm_anna "$TUI init" >/dev/null
mode=$(stat -c %a "$DB"); group=$(stat -c %G "$DB")
[ "$mode" = 660 ] && [ "$group" = crm ] && pass "database created $mode in group $group" \
    || fail "database mode $mode group $group"
as crm_anna "$TUI user add crm_boris --role manager" >/dev/null && pass "admin added a manager"

# 2. A manager cannot act as someone else by typing a name.
if as crm_boris "$TUI --user crm_anna list organizations" 2>/dev/null; then
    fail "a manager acted as another user"
else pass "--user refused for a manager"; fi

# 3. Both write at once over SSH: no errors, nothing lost.
as crm_anna "for i in \$(seq 1 40); do $TUI add notes title=anna-\$i >/dev/null || exit 1; done" &
a=$!
as crm_boris "for i in \$(seq 1 40); do $TUI add notes title=boris-\$i >/dev/null || exit 1; done" &
b=$!
wait $a && wait $b && pass "two accounts wrote 80 notes at the same time" || fail "a write failed"
count=$(as crm_anna "$TUI list notes --limit 1000 --json" | grep -c '"title"')
[ "$count" = 80 ] && pass "80 notes stored" || fail "$count notes stored"
for f in "$DB-wal" "$DB-shm"; do
    [ ! -e "$f" ] || [ "$(stat -c %G "$f")" = crm ] || fail "$f not in group crm"
done
pass "-wal/-shm files in the team's group"

# 4. Each sees only their own reminders.
soon=$(date -d '+10 minutes' '+%Y-%m-%d %H:%M')
as crm_anna "$TUI add events event_type=call title=anna-call starts_at='$soon' reminder_minutes=15" >/dev/null
as crm_boris "$TUI add events event_type=call title=boris-call starts_at='$soon' reminder_minutes=15" >/dev/null
anna=$(as crm_anna "$TUI reminders --due --json")
boris=$(as crm_boris "$TUI reminders --due --json")
echo "$anna" | grep -q anna-call && ! echo "$anna" | grep -q boris-call \
    && echo "$boris" | grep -q boris-call && ! echo "$boris" | grep -q anna-call \
    && pass "each user sees only their own reminders" || fail "reminders leak: $anna / $boris"

# 5. Forced commands: the key decides the user, whatever the client asks for.
su crm_svc -c "$TUI --db $SVC_DB init" >/dev/null
su crm_svc -c "$TUI --db $SVC_DB user add anna --role manager" >/dev/null
su crm_svc -c "$TUI --db $SVC_DB user add boris --role manager" >/dev/null
su crm_svc -c "$TUI --db $SVC_DB --user anna add events event_type=call title=svc-anna starts_at='$soon' reminder_minutes=15" >/dev/null
out=$(e2e_ssh "$PORT" svc_boris crm_svc "tui-crm --user anna reminders --json" | tr -d '\r')
echo "$out" | grep -q '\[' && ! echo "$out" | grep -q svc-anna \
    && pass "a forced command ignores the user the client asks for" || fail "forced command: $out"
out=$(e2e_ssh "$PORT" svc_anna crm_svc | tr -d '\r')
echo "$out" | grep -q svc-anna && pass "anna's key sees anna's reminder" || fail "anna: $out"
echo "ALL PASSED"
