#!/usr/bin/env bash
# The "evaluate" step of the shell pipeline example.
#
#   evaluate.sh TRIAL_DIR
#
# Reads TRIAL_DIR/model.txt (written by train.sh), computes the mean squared error
# of the network on held-out points of the curve it was fitted to, and writes
# TRIAL_DIR/result.yaml for `asktell tell`:
#
#   values: {loss: 0.0123}
#   attrs: {train_loss: 0.0101, held_out_points: 50}
#
# Fails (exit 1) when the model is missing or the loss is not a finite number,
# so that the driver tells the trial as failed.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 TRIAL_DIR" >&2
    exit 2
fi
T=$1
model="$T/model.txt"
if [[ ! -f $model ]]; then
    echo "evaluate: no model at $model (did train.sh run?)" >&2
    exit 1
fi

# One line "loss train_loss points", or nothing if the loss is not finite.
read -r loss train_loss points < <(awk '
function target(x) { return sin(3 * x) + 0.5 * x }   # keep in sync with train.sh
function tanh(z,  e) {
    if (z > 20) return 1
    if (z < -20) return -1
    e = exp(2 * z)
    return (e - 1) / (e + 1)
}
$1 == "layers"     { L = $2 + 0 }
$1 == "width"      { H = $2 + 0 }
$1 == "train_loss" { train_loss = $2 }
$1 == "w"          { W[$2, $3, $4] = $5 + 0 }
$1 == "out"        { V[$2] = $3 + 0 }
END {
    if (L < 1 || H < 1) { print "evaluate: not a model file" > "/dev/stderr"; exit 1 }
    # Held-out points: 50 points on [-1, 1] between the training points, without noise.
    n = 50; mse = 0
    for (i = 1; i <= n; i++) {
        x = -1 + 2 * (i - 0.5) / n
        A[0, 1] = x
        for (l = 1; l <= L; l++) {
            fan = l == 1 ? 1 : H
            for (j = 1; j <= H; j++) {
                z = W[l, j, 0]
                for (k = 1; k <= fan; k++) z += W[l, j, k] * A[l - 1, k]
                A[l, j] = tanh(z)
            }
        }
        y = V[0]
        for (k = 1; k <= H; k++) y += V[k] * A[L, k]
        mse += (y - target(x)) ^ 2 / n
    }
    # NaN and infinity print differently across awks; keep only ordinary numbers.
    out = sprintf("%.9g", mse)
    if (out ~ /^[0-9.eE+-]+$/) printf "%s %s %d\n", out, train_loss, n
}' "$model") || true

if [[ -z ${loss:-} ]]; then
    echo "evaluate: the loss on held-out points is not a finite number" >&2
    exit 1
fi

# Written next to its final name and moved into place, so `asktell tell` never
# reads half a file.
printf 'values: {loss: %s}\nattrs: {train_loss: %s, held_out_points: %s}\n' \
    "$loss" "${train_loss:-null}" "$points" >"$T/result.yaml.partial"
mv "$T/result.yaml.partial" "$T/result.yaml"
echo "evaluate: held-out loss $loss (train loss ${train_loss:-?}) -> $T/result.yaml"
