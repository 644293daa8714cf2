#!/usr/bin/env bash
# Driver of the PyTorch pipeline example: N_TRIALS trials, one after the other.
#
#   pipelines/pytorch/run.sh
#
# Creates the study if it does not exist yet (TPE sampler, maximizing the validation
# accuracy), then loops until `asktell ask` exits 4 (the budget is used up):
#
#   T=$(asktell ask STUDY)
#   python3 train.py T && python3 evaluate.py T   # output in T/train.log and T/evaluate.log
#   asktell tell STUDY T                          # or, when a step failed: --state failed
#
# and prints `asktell status` and `asktell best`.  Run it on several hosts (or
# several times on one) against one study folder and the runs share the budget.
# `asktell run` can drive the same two steps instead of this loop:
#
#   asktell run STUDY -n 20 -- sh -c 'python3 train.py "$ASKTELL_TRIAL_DIR" && python3 evaluate.py "$ASKTELL_TRIAL_DIR"'
#
# Environment:
#   STUDY     the study folder (default: ./pytorch-study)
#   N_TRIALS  the study's budget, --max-trials (default: 20)
#   PYTHON    the interpreter that has torch and scikit-learn (default: python3)
#   ASKTELL   the asktell command (default: asktell); split on whitespace
#   SEED      if set, the study's seed
#   EPOCHS    passed on to train.py (default there: 30)
#
# Exit status: 0 when the budget was used up and at least one trial completed; 1 otherwise.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STUDY=${STUDY:-./pytorch-study}
N_TRIALS=${N_TRIALS:-20}
PYTHON=${PYTHON:-python3}
export ASKTELL=${ASKTELL:-asktell}
read -r -a asktell <<<"$ASKTELL"

create=("${asktell[@]}" create "$STUDY" --space "$HERE/space.yaml" --maximize accuracy --sampler tpe
        --max-trials "$N_TRIALS" --exist-ok)
if [[ -n ${SEED:-} ]]; then
    create+=(--seed "$SEED")
fi
"${create[@]}"

errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
while :; do
    rc=0
    T=$("${asktell[@]}" ask "$STUDY" 2>"$errors") || rc=$?
    if ((rc == 4)); then
        break                                    # the budget is used up
    elif ((rc != 0)); then
        cat "$errors" >&2
        exit 1
    fi
    echo "run.sh: trial $T: $("${asktell[@]}" params "$T" --format make)"
    if "$PYTHON" "$HERE/train.py" "$T" >"$T/train.log" 2>&1 &&
        "$PYTHON" "$HERE/evaluate.py" "$T" >"$T/evaluate.log" 2>&1; then
        "${asktell[@]}" tell "$STUDY" "$T"
    else
        echo "run.sh: a step failed: $(tail -n 1 "$T/train.log" "$T/evaluate.log" 2>/dev/null | tail -n 1)" >&2
        "${asktell[@]}" tell "$STUDY" "$T" --state failed
    fi
done

echo
"${asktell[@]}" status "$STUDY"
echo
echo "best trial:"
"${asktell[@]}" best "$STUDY"
