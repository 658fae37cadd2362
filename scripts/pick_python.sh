# Sourced by scripts/setup.sh and scripts/wheel.sh: the Python to build a venv with.
# pick_python prints the first of $PYTHON, python3.13 … python3.11, python3 that is 3.11 or newer
# and has the venv module; otherwise it says what to install (with the caller's `say`) and exits.
pick_python() {
    local py
    for py in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$py" ] || continue
        if command -v "$py" >/dev/null 2>&1 &&
            "$py" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$py"; return 0
        fi
    done
    say "Python 3.11 or newer with the venv module is needed (apt-get install python3 python3-venv)"
    exit 1
}
