#!/bin/sh
# with-keyring.sh CMD [ARGS...]
#
# Runs CMD inside a private D-Bus session bus with a fresh, unlocked GNOME Keyring
# (Secret Service) whose files live in a temporary directory, then removes that directory.
# The person's own keyring and $HOME are never touched. CMD sees:
#   DBUS_SESSION_BUS_ADDRESS  the private bus
#   BERTH_KEYRING_SESSION=1   marker: "a throw-away Secret Service is running"
# Needs: dbus-run-session (apt: dbus, dbus-user-session) and gnome-keyring-daemon
# (apt: gnome-keyring). Exits 127 with a message when they are missing.
set -eu

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

missing=""
for tool in dbus-run-session gnome-keyring-daemon; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    echo "with-keyring.sh: cannot start a Secret Service for the keychain tests: missing$missing." >&2
    echo "with-keyring.sh: install them with: sudo apt-get install gnome-keyring dbus dbus-user-session" >&2
    exit 127
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/berth-keyring.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$tmp/home" "$tmp/data" "$tmp/config" "$tmp/cache" "$tmp/run"
chmod 700 "$tmp/run"
export BERTH_KEYRING_TMP="$tmp"

status=0
dbus-run-session -- sh -c '
    t=$BERTH_KEYRING_TMP
    unset BERTH_KEYRING_TMP
    # The daemon gets its own HOME and XDG dirs (it needs an existing HOME for its control
    # socket); CMD keeps the real HOME so cargo and rustup still work.
    if ! printf "berth-test-keyring" | HOME="$t/home" XDG_DATA_HOME="$t/data" \
        XDG_CONFIG_HOME="$t/config" XDG_CACHE_HOME="$t/cache" XDG_RUNTIME_DIR="$t/run" \
        gnome-keyring-daemon --unlock --components=secrets >/dev/null; then
        echo "with-keyring.sh: gnome-keyring-daemon --unlock failed" >&2
        exit 126
    fi
    # Wait (up to 5 s) until the Secret Service name is on the bus.
    if command -v dbus-send >/dev/null 2>&1; then
        i=0
        until dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
                org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
                | grep -q "boolean true"; do
            i=$((i + 1))
            if [ "$i" -ge 50 ]; then
                echo "with-keyring.sh: the Secret Service did not appear on the session bus" >&2
                exit 126
            fi
            sleep 0.1
        done
    fi
    BERTH_KEYRING_SESSION=1 "$@"
' with-keyring "$@" || status=$?
exit "$status"
