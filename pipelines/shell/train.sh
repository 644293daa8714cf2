#!/usr/bin/env bash
# The "train" step of the shell pipeline example.
#
#   train.sh TRIAL_DIR
#
# Reads the trial's parameters with `asktell params`, fits a small fully connected
# tanh network (1 input, N_LAYERS hidden layers of WIDTH units, 1 output) to noisy
# samples of a 1-D curve by full-batch gradient descent, and writes the fitted
# weights to TRIAL_DIR/model.txt.  Progress goes to stdout.
#
# The computation is real (plain awk, no dependencies): the loss it reaches depends
# on lr, n_layers, width, opt and momentum, which is what the study optimizes.
#
# Environment:
#   ASKTELL     the asktell command (default: asktell); split on whitespace
#   EPOCHS      gradient steps (default: 200)
#   FAIL_TRIAL  trial numbers (comma-separated) for which this step deliberately
#               fails, to show how a crashed step is told as failed
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 TRIAL_DIR" >&2
    exit 2
fi
T=$1
read -r -a asktell <<<"${ASKTELL:-asktell}"

stamp() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

# NAME=value lines: LR, N_LAYERS, WIDTH, OPT, MOMENTUM (only when opt is sgd),
# ASKTELL_TRIAL, ASKTELL_TRIAL_DIR.  Captured first so that a failing
# `asktell params` stops the step (an `eval "$(...)"` would hide its exit code).
params=$("${asktell[@]}" params "$T" --format env)
unset MOMENTUM            # conditional: must come from this trial, not from the caller
eval "$params"
EPOCHS=${EPOCHS:-200}
trial=$((10#$ASKTELL_TRIAL))

echo "train: trial $trial started at $(stamp)"
echo "train: lr=$LR n_layers=$N_LAYERS width=$WIDTH opt=$OPT${MOMENTUM:+ momentum=$MOMENTUM} epochs=$EPOCHS"
MOMENTUM=${MOMENTUM:-0}   # absent unless opt is sgd

if [[ ",${FAIL_TRIAL:-}," == *",$trial,"* ]]; then
    echo "train: trial $trial: simulated crash (FAIL_TRIAL=$FAIL_TRIAL)" >&2
    exit 1
fi

# Write the model next to its final name and move it into place when complete,
# so that evaluate.sh never reads half a model.
partial="$T/model.txt.partial"
awk -v lr="$LR" -v n_layers="$N_LAYERS" -v width="$WIDTH" -v opt="$OPT" \
    -v momentum="$MOMENTUM" -v epochs="$EPOCHS" -v seed="$((1000 + trial))" \
    -v model="$partial" '
function target(x) { return sin(3 * x) + 0.5 * x }   # keep in sync with evaluate.sh
function tanh(z,  e) {
    if (z > 20) return 1
    if (z < -20) return -1
    e = exp(2 * z)
    return (e - 1) / (e + 1)
}
function fan_in(l) { return l == 1 ? 1 : width }
BEGIN {
    L = n_layers + 0; H = width + 0
    if (L < 1 || H < 1 || epochs < 1 || lr <= 0) { print "train: bad parameters" > "/dev/stderr"; exit 2 }

    # Training data: 32 points on [-1, 1] with a little noise (the same for every trial).
    srand(12345); n = 32
    for (i = 1; i <= n; i++) {
        X[i] = -1 + 2 * (i - 1) / (n - 1)
        Y[i] = target(X[i]) + 0.05 * (rand() + rand() + rand() - 1.5)
    }

    # Parameters, flattened: hidden layer l, unit j, input k (k = 0 is the bias) at
    # index W[l, j, k]; the output unit reads the last hidden layer through V[k].
    srand(seed); np = 0
    for (l = 1; l <= L; l++) {
        a = sqrt(6 / (fan_in(l) + H))                    # Glorot-uniform initialisation
        for (j = 1; j <= H; j++)
            for (k = 0; k <= fan_in(l); k++) {
                P[++np] = k == 0 ? 0 : a * (2 * rand() - 1)
                W[l, j, k] = np
            }
    }
    a = sqrt(6 / (H + 1))
    for (k = 0; k <= H; k++) { P[++np] = k == 0 ? 0 : a * (2 * rand() - 1); V[k] = np }
    for (p = 1; p <= np; p++) { M1[p] = 0; M2[p] = 0 }
    b1 = 0.9; b2 = 0.999; eps = 1e-8; clip = 1.0
    printf "train: %d hidden layers x %d units, %d weights, %d points\n", L, H, np, n

    every = int(epochs / 10); if (every < 1) every = 1
    for (epoch = 1; epoch <= epochs; epoch++) {
        for (p = 1; p <= np; p++) G[p] = 0
        loss = 0
        for (i = 1; i <= n; i++) {
            # Forward pass.
            A[0, 1] = X[i]
            for (l = 1; l <= L; l++)
                for (j = 1; j <= H; j++) {
                    z = P[W[l, j, 0]]
                    for (k = 1; k <= fan_in(l); k++) z += P[W[l, j, k]] * A[l - 1, k]
                    A[l, j] = tanh(z)
                }
            y = P[V[0]]
            for (k = 1; k <= H; k++) y += P[V[k]] * A[L, k]
            r = y - Y[i]; loss += r * r / n

            # Backward pass.
            dy = 2 * r / n
            G[V[0]] += dy
            for (k = 1; k <= H; k++) {
                G[V[k]] += dy * A[L, k]
                D[L, k] = dy * P[V[k]] * (1 - A[L, k] * A[L, k])
            }
            for (l = L; l >= 1; l--) {
                for (k = 1; k <= fan_in(l); k++) back[k] = 0
                for (j = 1; j <= H; j++) {
                    G[W[l, j, 0]] += D[l, j]
                    for (k = 1; k <= fan_in(l); k++) {
                        G[W[l, j, k]] += D[l, j] * A[l - 1, k]
                        back[k] += D[l, j] * P[W[l, j, k]]
                    }
                }
                if (l > 1)
                    for (k = 1; k <= H; k++) D[l - 1, k] = back[k] * (1 - A[l - 1, k] * A[l - 1, k])
            }
        }
        if (epoch == 1 || epoch % every == 0 || epoch == epochs)
            printf "train: epoch %4d/%d  train_loss %.6f\n", epoch, epochs, loss

        # Clip the gradient to norm 1, then take one optimizer step.
        norm = 0
        for (p = 1; p <= np; p++) norm += G[p] * G[p]
        norm = sqrt(norm); scale = norm > clip ? clip / norm : 1
        for (p = 1; p <= np; p++) {
            g = G[p] * scale
            if (opt == "adam") {
                M1[p] = b1 * M1[p] + (1 - b1) * g
                M2[p] = b2 * M2[p] + (1 - b2) * g * g
                P[p] -= lr * (M1[p] / (1 - b1 ^ epoch)) / (sqrt(M2[p] / (1 - b2 ^ epoch)) + eps)
            } else {                                      # sgd with (heavy-ball) momentum
                M1[p] = momentum * M1[p] + g
                P[p] -= lr * M1[p]
            }
        }
    }

    # The model file: one line per weight, readable by evaluate.sh without this script.
    printf "# tanh network fitted by train.sh: 1 -> %d x %d -> 1\n", L, H > model
    printf "layers %d\nwidth %d\ntrain_loss %.9g\n", L, H, loss > model
    for (l = 1; l <= L; l++)
        for (j = 1; j <= H; j++)
            for (k = 0; k <= fan_in(l); k++) printf "w %d %d %d %.17g\n", l, j, k, P[W[l, j, k]] > model
    for (k = 0; k <= H; k++) printf "out %d %.17g\n", k, P[V[k]] > model
    close(model)
}'
mv "$partial" "$T/model.txt"

echo "train: trial $trial wrote $T/model.txt"
echo "train: trial $trial finished at $(stamp)"
