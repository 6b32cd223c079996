#!/bin/sh
# The container's command: `webrepl gateway` with its settings from the mounted file and the environment.
#   WEBREPL_CONFIG           settings file (default /etc/webrepl/gateway.json; used when it exists)
#   WEBREPL_PORT, WEBREPL_BIND   where to listen inside the container (8765, 0.0.0.0)
#   WEBREPL_VIRTUAL_BOARD=1  also run a virtual MicroPython board, named 'virtual'
#   WEBREPL_PASSWORD         the virtual board's password (else one is generated and printed)
#   WEBREPL_BOARDS           named boards, space-separated: "lab1=ws://192.168.2.197:8266 lab2=..."
#   WEBREPL_ALLOW_ORIGINS    allowed browser origins, space-separated
#   WEBREPL_ALLOW_TARGETS    allowed targets, space-separated (replaces the default: private and loopback)
#   WEBREPL_TRUST_PROXIES    reverse proxies whose X-Forwarded-For counts for the login lockout
#   WEBREPL_CLIENT_KEEPALIVE seconds of silence after which clients are pinged (default 20; 0: off)
# Arguments given to the container are passed on after these (they add to or override them).
set -eu

set -- --port "${WEBREPL_PORT:-8765}" --bind "${WEBREPL_BIND:-0.0.0.0}" "$@"
if [ -n "${WEBREPL_CONFIG:-}" ] && [ -f "$WEBREPL_CONFIG" ]; then
    set -- --config "$WEBREPL_CONFIG" "$@"
fi
case "${WEBREPL_VIRTUAL_BOARD:-0}" in
    1|true|yes) set -- --virtual-board "$@" ;;
esac
if [ -n "${WEBREPL_PASSWORD:-}" ]; then
    set -- -p "$WEBREPL_PASSWORD" "$@"
fi
if [ -n "${WEBREPL_CLIENT_KEEPALIVE:-}" ]; then
    set -- --client-keepalive "$WEBREPL_CLIENT_KEEPALIVE" "$@"
fi
for entry in ${WEBREPL_BOARDS:-}; do set -- --board "$entry" "$@"; done
for entry in ${WEBREPL_ALLOW_ORIGINS:-}; do set -- --allow-origin "$entry" "$@"; done
for entry in ${WEBREPL_ALLOW_TARGETS:-}; do set -- --allow-target "$entry" "$@"; done
for entry in ${WEBREPL_TRUST_PROXIES:-}; do set -- --trust-proxy "$entry" "$@"; done

exec /opt/webrepl/WebRepl.Cli gateway "$@"
