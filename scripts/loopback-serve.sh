# Sourced by the scripts that need a throw-away `rewind serve` on loopback (check-recipes.sh,
# fuzz-openapi.sh). It makes a scratch folder, $work, removed on exit together with the server.
#
#   start_loopback_serve BINARY [serve options...]
#       starts BINARY serve on 127.0.0.1, a free port, with its database in $work; sets server_pid
#       and base (http://127.0.0.1:PORT), its output in $work/stdout and $work/stderr; exits with
#       the server's errors when it has not said where it listens within 30 s.

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

start_loopback_serve() {
    local binary=$1
    shift
    env -u REWIND_API_KEYS "$binary" serve --host 127.0.0.1 --port 0 --database "$work/rewind.sqlite" "$@" \
        >"$work/stdout" 2>"$work/stderr" &
    server_pid=$!
    for _ in $(seq 300); do
        if grep -q '^listening on ' "$work/stdout" 2>/dev/null; then break; fi
        sleep 0.1
    done
    base="$(sed -n 's/^listening on //p' "$work/stdout" | head -1)"
    [[ -n "$base" ]] || { echo "the server did not start:" >&2; cat "$work/stderr" >&2; exit 1; }
}
