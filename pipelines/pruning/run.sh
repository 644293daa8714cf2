#!/usr/bin/env bash
# Pruning from the shell: training loops that report every epoch and stop when the study says so.
#
#   pipelines/pruning/run.sh
#
# Creates the study if it does not exist yet (a median pruner: after 5 complete trials,
# from epoch 3 on, a trial whose best loss so far is worse than the median of the complete
# trials at the same epoch is pruned), starts WORKERS workers and waits for them.  Each
# worker loops:
#
#   T=$(asktell ask STUDY)                                    # exit 4: budget used up, stop
#   for each epoch E:
#       LOSS=<one epoch of training>
#       asktell report STUDY T --step E --value LOSS          # exit 3: the trial should stop
#   asktell tell STUDY T --value LOSS                         # ran every epoch
#   asktell tell STUDY T --state pruned                       # stopped: records the last reported loss
#
# The "training" is a synthetic learning curve in awk, so the example needs nothing but bash,
# awk and asktell: the loss falls from about 1.5 towards a floor set by lr and width, with a
# little noise.  Each report's stderr goes to T/report.log.
#
# Environment:
#   STUDY      the study folder (default: ./pruning-study)
#   N_TRIALS   the study's budget, --max-trials (default: 30)
#   EPOCHS     epochs per trial when nothing stops it (default: 20)
#   WORKERS    workers running at once (default: 4)
#   ASKTELL    the asktell command (default: asktell); split on whitespace
#   SEED       if set, the study's seed
#
# Exit status: 0 when every trial was run and told; 1 otherwise.
set -euo pipefail

STUDY=${STUDY:-./pruning-study}
N_TRIALS=${N_TRIALS:-30}
EPOCHS=${EPOCHS:-20}
WORKERS=${WORKERS:-4}
read -r -a asktell <<<"${ASKTELL:-asktell}"

for var in N_TRIALS EPOCHS WORKERS; do
    if [[ ! ${!var} =~ ^[1-9][0-9]*$ ]]; then
        echo "run.sh: $var must be a positive integer (got '${!var}')" >&2
        exit 2
    fi
done

create=("${asktell[@]}" create "$STUDY" -p lr=1e-4..1:log -p width=8..128:log --minimize loss
        --pruner median --pruner-option n_startup_trials=5 --pruner-option n_warmup_steps=3
        --max-trials "$N_TRIALS" --exist-ok)
if [[ -n ${SEED:-} ]]; then
    create+=(--seed "$SEED")
fi
"${create[@]}"

log() { printf '[worker %s] %s\n' "$1" "$2"; }

# One epoch of "training": the loss after epoch E of a trial with these parameters.
epoch_loss() {
    awk -v lr="$1" -v width="$2" -v epoch="$3" -v trial="$4" 'BEGIN {
        floor = 0.3 * (log(lr) / log(10) + 2) ^ 2 + 0.1 + 0.3 / sqrt(width)
        srand(trial * 1000 + epoch)
        printf "%.6f\n", floor + (1.5 - floor) * exp(-0.25 * (epoch + 1)) + 0.01 * (rand() - 0.5)
    }'
}

worker() {
    local id=$1 T n rc epoch loss stopped errors="$scratch/ask-errors.$1"
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
        n=$((10#${T##*/}))
        params=$("${asktell[@]}" params "$T" --format env)
        eval "$params"                                    # LR, WIDTH
        stopped=""
        for ((epoch = 0; epoch < EPOCHS; epoch++)); do
            loss=$(epoch_loss "$LR" "$WIDTH" "$epoch" "$n")
            rc=0
            "${asktell[@]}" report "$STUDY" "$T" --step "$epoch" --value "$loss" 2>>"$T/report.log" || rc=$?
            if ((rc == 3)); then                          # the pruner says stop
                stopped=$epoch
                break
            elif ((rc != 0)); then
                log "$id" "trial $n: asktell report failed (exit $rc): $(tail -n 1 "$T/report.log")" >&2
                return 1
            fi
        done
        if [[ -n $stopped ]]; then
            log "$id" "trial $n pruned at epoch $stopped: $(tail -n 1 "$T/report.log")"
            "${asktell[@]}" tell "$STUDY" "$T" --state pruned 2>/dev/null
        else
            log "$id" "trial $n ran $EPOCHS epochs: loss $loss"
            "${asktell[@]}" tell "$STUDY" "$T" --value "$loss" 2>/dev/null
        fi
    done
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "run.sh: $WORKERS workers, study $STUDY, budget $N_TRIALS trials of $EPOCHS epochs"
pids=()
for ((i = 1; i <= WORKERS; i++)); do
    worker "$i" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done

echo
"${asktell[@]}" status "$STUDY"
exit "$status"
