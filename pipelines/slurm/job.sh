#!/usr/bin/env bash
#SBATCH --job-name=asktell
#SBATCH --array=0-31%8
#SBATCH --cpus-per-task=1
#SBATCH --requeue
#SBATCH --output=slurm-%A_%a.out
#
# One trial per task of a SLURM array job: ask -> train -> evaluate -> tell.
#
#   asktell create "$STUDY" --space pipelines/shell/space.yaml --minimize loss --max-trials 32
#   STUDY=$STUDY sbatch pipelines/slurm/job.sh      # from the repository root
#
# The tasks share nothing but the study folder, which must be on a filesystem every
# node mounts.  Each asks with the key JOBID-TASKID, so a task that SLURM requeues
# (node failure, preemption, `scontrol requeue`) gets its own unfinished trial back
# instead of taking a new one.  The steps are the shell pipeline's train.sh and
# evaluate.sh; they write train.log, model.txt, evaluate.log and result.yaml into the
# trial folder.
#
# Environment (sbatch passes the submitting shell's environment to the tasks):
#   STUDY    the study folder (required)
#   STEPS    the folder holding train.sh and evaluate.sh
#            (default: pipelines/shell under the folder sbatch was run from)
#   ASKTELL  the asktell command (default: asktell); split on whitespace
#   EPOCHS   passed on to train.sh
#
# Exit status: 0 when the trial was told complete or nothing was left to ask; a
# failing step's exit status after its trial was told failed; asktell's own exit
# status when asktell failed (a result file that `tell` refuses, exit 2, leaves the
# trial running: fix it and tell again, or tell it --state failed).
set -euo pipefail

: "${STUDY:?set STUDY to the study folder}"
STEPS=${STEPS:-${SLURM_SUBMIT_DIR:-.}/pipelines/shell}
read -r -a asktell <<<"${ASKTELL:-asktell}"
key=${SLURM_ARRAY_JOB_ID:-${SLURM_JOB_ID:?not running under SLURM}}-${SLURM_ARRAY_TASK_ID:-0}

rc=0
T=$("${asktell[@]}" ask "$STUDY" --key "$key") || rc=$?
if ((rc == 4)); then
    echo "job $key: nothing left to ask in $STUDY"
    exit 0
elif ((rc != 0)); then
    exit "$rc"
fi
echo "job $key: trial $T on $(hostname) (restart ${SLURM_RESTART_COUNT:-0}):" \
    "$("${asktell[@]}" params "$T" --format make)"

rc=0
"$STEPS/train.sh" "$T" >"$T/train.log" 2>&1 || rc=$?
if ((rc == 0)); then
    "$STEPS/evaluate.sh" "$T" >"$T/evaluate.log" 2>&1 || rc=$?
fi
if ((rc != 0)); then
    echo "job $key: a step failed (exit $rc); see $T/train.log and $T/evaluate.log" >&2
    "${asktell[@]}" tell "$STUDY" "$T" --state failed
    exit "$rc"
fi
"${asktell[@]}" tell "$STUDY" "$T"
