#!/usr/bin/env bash
# Serve the runs written by mnist_tsne.py and autoencoder_tsne.py with TensorBoard.
#
#   ./run_tensorboard.sh                     # logs/ on http://127.0.0.1:6006/#projector
#   ./run_tensorboard.sh --logdir DIR --port 6007 --host 0.0.0.0
#
# It listens on 127.0.0.1 (this machine only) unless --host says otherwise.
set -euo pipefail

logdir="logs"
port="6006"
host="127.0.0.1"

usage() {
    cat <<'EOF'
Usage: ./run_tensorboard.sh [--logdir DIR] [--port N] [--host HOST]

Serve the runs under DIR (default: logs) with TensorBoard and print the
Projector's URL.

  --logdir DIR  folder holding the runs (default: logs)
  --port N      port to listen on (default: 6006; if taken, the next free one)
  --host HOST   address to listen on (default: 127.0.0.1, this machine only;
                0.0.0.0 exposes TensorBoard to the whole network)
  -h, --help    show this help
EOF
}

die() {
    echo "error: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --logdir|--port|--host)
            [ $# -ge 2 ] || die "$1 needs a value (see --help)"
            case "$1" in
                --logdir) logdir="$2" ;;
                --port) port="$2" ;;
                --host) host="$2" ;;
            esac
            shift 2 ;;
        --logdir=*) logdir="${1#*=}"; shift ;;
        --port=*) port="${1#*=}"; shift ;;
        --host=*) host="${1#*=}"; shift ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

case "$port" in
    ''|*[!0-9]*) die "--port must be a number from 1 to 65535, got '$port'" ;;
esac
[ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "--port must be a number from 1 to 65535, got '$port'"

python=$(command -v python3 || command -v python) \
    || die "python is not on PATH; activate the environment TensorBoard is in"
"$python" -c "import tensorboard" >/dev/null 2>&1 \
    || die "TensorBoard is not installed; run: pip install -r requirements.txt"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ ! -d "$logdir" ]; then
    die "no folder '$logdir' yet; run: python mnist_tsne.py (or python autoencoder_tsne.py) first"
fi
# Hidden folders below the logdir (a run still being staged: .mnist.partial-*) do not count; the logdir's own
# path may be hidden (~/.cache/...), so find runs from inside it.
if [ -z "$(cd "$logdir" && find . -name projector_config.pbtxt -not -path '*/.*' -print -quit)" ]; then
    die "'$logdir' holds no projector runs; run: python mnist_tsne.py (or python autoencoder_tsne.py) first"
fi

case "$host" in
    0.0.0.0|::|'[::]')
        echo "warning: --host $host makes TensorBoard reachable from other machines; it has no login." >&2 ;;
esac

# Exit status 0 when host:port can be bound now.
port_is_free() {
    "$python" - "$host" "$1" <<'EOF'
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
with socket.socket(family) as s:
    try:
        s.bind((host.strip("[]"), port))
    except OSError:
        sys.exit(1)
EOF
}

wanted="$port"
while ! port_is_free "$port"; do
    if [ "$port" -ge $((wanted + 20)) ] || [ "$port" -ge 65535 ]; then
        die "ports $wanted to $port on $host are all in use; pass a free one with --port"
    fi
    port=$((port + 1))
done
if [ "$port" != "$wanted" ]; then
    echo "note: port $wanted is in use; using $port instead." >&2
fi

# What would leave the Projector blank or wrong, said before TensorBoard starts
# (tools/check_projector_logs.py); TensorBoard serves the runs either way.
"$python" "$here/tools/check_projector_logs.py" --quiet "$logdir" >&2 || true

# TensorFlow's C++ log lines read like failures on a machine without a GPU; a level you set is kept.
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-3}"

url_host="$host"
case "$host" in 0.0.0.0|::|'[::]') url_host="127.0.0.1" ;; esac
echo "TensorBoard is starting on http://$url_host:$port/#projector (Ctrl-C stops it)"
# TensorBoard itself, with its Projector made to serve a re-run's new points
# after a page reload (see tutorial/serve_tensorboard.py).
# Every frame of a map's optimisation for the Images tab's step slider (by default it samples 10).
exec "$python" "$here/tutorial/serve_tensorboard.py" --logdir "$logdir" --host "$host" --port "$port" \
    --samples_per_plugin images=500
