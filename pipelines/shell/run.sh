#!/usr/bin/env bash
# Driver of the shell pipeline example: several workers share one study folder.
#
#   pipelines/shell/run.sh
#
# Creates the study if it does not exist yet, starts WORKERS workers in the
# background and waits for them.  Each worker loops:
#
#   T=$(asktell ask STUDY)        # exit 4: the budget is used up, the worker stops
#   train.sh T && evaluate.sh T   # their output goes to T/train.log and T/evaluate.log
#   asktell tell STUDY T          # or, when a step failed: asktell tell STUDY T --state failed
#
# and finally prints `asktell status` and `asktell best`.  The workers coordinate only
# through the study folder, so the same loop could run on several hosts of a shared
# filesystem, or as the tasks of a batch array job.
#
# Environment:
#   STUDY      the study folder (default: ./demo-study, relative to the current directory)
#   N_TRIALS   the study's budget, --max-trials (default: 20)
#   WORKERS    workers running at once (default: 4)
#   ASKTELL    the asktell command (default: asktell); split on whitespace, so
#              "python3 -m asktell" works
#   SEED       if set, the study's seed (the same seed gives the same trials)
#   EPOCHS, FAIL_TRIAL   passed on to train.sh (see there)
#
# Exit status: 0 when every trial was run and told (some may have been told failed)
# and at least one completed; 1 otherwise.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STUDY=${STUDY:-./demo-study}
N_TRIALS=${N_TRIALS:-20}
WORKERS=${WORKERS:-4}
export ASKTELL=${ASKTELL:-asktell}
read -r -a asktell <<<"$ASKTELL"

for var in N_TRIALS WORKERS; do
    if [[ ! ${!var} =~ ^[1-9][0-9]*$ ]]; then
        echo "run.sh: $var must be a positive integer (got '${!var}')" >&2
        exit 2
    fi
done

create=("${asktell[@]}" create "$STUDY" --space "$HERE/space.yaml" --minimize loss
        --max-trials "$N_TRIALS" --exist-ok)
if [[ -n ${SEED:-} ]]; then
    create+=(--seed "$SEED")
fi
"${create[@]}"

log() { printf '[worker %s] %s\n' "$1" "$2"; }

# Tell a trial failed.  A result file the study cannot accept is kept aside as
# result.invalid.yaml, since `tell` would otherwise read it again.
tell_failed() {
    local id=$1 T=$2 message
    if [[ -f $T/result.yaml ]]; then
        mv "$T/result.yaml" "$T/result.invalid.yaml"
    fi
    message=$("${asktell[@]}" tell "$STUDY" "$T" --state failed 2>&1) || {
        log "$id" "$message"
        return 1
    }
    log "$id" "$message"
}

worker() {
    local id=$1 T n rc message errors="$scratch/ask-errors.$1"
    while :; do
        rc=0
        T=$("${asktell[@]}" ask "$STUDY" 2>"$errors") || rc=$?
        if ((rc == 4)); then
            log "$id" "nothing left to ask; done"
            return 0
        elif ((rc != 0)); then
            log "$id" "asktell ask failed (exit $rc): $(cat "$errors")" >&2
            return 1
        fi
        n=$((10#${T##*/}))             # trial folders are named by number: 000007
        log "$id" "trial $n in $T: $("${asktell[@]}" params "$T" --format make)"

        if ! "$HERE/train.sh" "$T" >"$T/train.log" 2>&1; then
            log "$id" "trial $n: train.sh failed: $(tail -n 1 "$T/train.log")" >&2
            tell_failed "$id" "$T" || return 1
            continue
        fi
        if ! "$HERE/evaluate.sh" "$T" >"$T/evaluate.log" 2>&1; then
            log "$id" "trial $n: evaluate.sh failed: $(tail -n 1 "$T/evaluate.log")" >&2
            tell_failed "$id" "$T" || return 1
            continue
        fi

        rc=0
        message=$("${asktell[@]}" tell "$STUDY" "$T" 2>&1) || rc=$?
        log "$id" "$message"
        if ((rc == 2)); then          # the study refused the result file: the trial failed
            tell_failed "$id" "$T" || return 1
        elif ((rc != 0)); then
            return 1
        fi
    done
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

pids=()
# shellcheck disable=SC2329  # called by the trap below
stop() {
    trap - INT TERM
    echo "run.sh: interrupted; stopping the workers (their trials stay running in $STUDY)" >&2
    kill "${pids[@]}" 2>/dev/null || true
    wait || true
    exit 130
}
trap stop INT TERM

echo "run.sh: $WORKERS workers, study $STUDY, budget $N_TRIALS trials"
for ((i = 1; i <= WORKERS; i++)); do
    worker "$i" &
    pids+=($!)
done

status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
trap - INT TERM
if ((status != 0)); then
    echo "run.sh: a worker stopped on an error (see above)" >&2
fi

echo
"${asktell[@]}" status "$STUDY"
echo
echo "best trial:"
"${asktell[@]}" best "$STUDY" || status=1
exit "$status"
