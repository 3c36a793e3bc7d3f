# Helpers shared by the end-to-end scripts in this folder (sourced, not run). They need
# root on a throw-away machine: they add OS users and start sshd on 127.0.0.1.

# The scripts act as root: a sudo that started them must not make their `su USER -c …`
# sessions look like sudo run by the invoking account (see tui_crm/services/identity.py).
unset SUDO_UID SUDO_GID SUDO_USER SUDO_COMMAND

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; exit 1; }

E2E_CLEANUP=""
e2e_on_exit() {  # e2e_on_exit COMMAND — run when the script ends, last added first
    E2E_CLEANUP="$1; $E2E_CLEANUP"
    trap 'eval "$E2E_CLEANUP"' EXIT
}

e2e_workdir() {  # sets WORK: a fresh folder every account can enter
    WORK=$(mktemp -d /tmp/tui-crm-ssh.XXXXXX)
    chmod 755 "$WORK"
    e2e_on_exit "rm -rf '$WORK'"
}

e2e_tui() {  # e2e_tui [PATH_TO_TUI_CRM] — sets TUI
    # Without a path: this checkout installed into a venv every user can run (the system's
    # python3), as a server install would be.
    if [ -n "${1:-}" ]; then
        TUI=$1
    else
        /usr/bin/python3 -m venv "$WORK/venv"
        "$WORK/venv/bin/pip" install -q "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
        chmod -R a+rX "$WORK/venv"
        TUI=$WORK/venv/bin/tui-crm
    fi
}

e2e_packages() {  # sshd and sudo, from Debian's packages when missing
    local missing=()
    command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
    command -v sudo >/dev/null || missing+=(sudo)
    command -v ssh >/dev/null || missing+=(openssh-client)
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            "${missing[@]}" >/dev/null
    fi
    SSHD=$(command -v sshd || echo /usr/sbin/sshd)
}

e2e_accounts() {  # e2e_accounts USER… — OS accounts with a home, no password, not locked
    local u
    for u in "$@"; do
        id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
        usermod -p '*' "$u"  # sshd refuses locked accounts
    done
}

e2e_key() {  # e2e_key NAME — a key pair $WORK/NAME(.pub)
    ssh-keygen -q -t ed25519 -N '' -f "$WORK/$1"
}

e2e_sshd() {  # e2e_sshd PORT — sshd on 127.0.0.1, keys only
    ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key"
    cat > "$WORK/sshd_config" <<EOF
Port $1
ListenAddress 127.0.0.1
HostKey $WORK/host_key
PidFile $WORK/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
ClientAliveInterval 30
ClientAliveCountMax 3
AuthorizedKeysFile .ssh/authorized_keys
EOF
    mkdir -p /run/sshd
    "$SSHD" -f "$WORK/sshd_config"
    e2e_on_exit "kill \$(cat '$WORK/sshd.pid') 2>/dev/null || true"
    sleep 0.5
}

e2e_ssh() {  # e2e_ssh PORT KEY USER [COMMAND…] — with ${E2E_SSH_OPTIONS[@]} if set
    local port=$1 key=$2 user=$3
    shift 3
    ssh -q -p "$port" -i "$WORK/$key" -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o BatchMode=yes ${E2E_SSH_OPTIONS[@]+"${E2E_SSH_OPTIONS[@]}"} \
        "$user@127.0.0.1" -- "$@"
}
