#!/bin/bash
# A linger sweep as N GNU parallel jobs, on this machine or over ssh, then `linger merge`.
#
#   deploy/parallel/sweep.sh EXPERIMENT.toml RESULTS N [parallel options]
#
#   deploy/parallel/sweep.sh exp.toml results 8 -j 4                    # 8 shards, 4 at a time
#   deploy/parallel/sweep.sh /shared/exp.toml /shared/results 8 \
#       --sshlogin 4/node1,4/node2 --env LINGER                          # over ssh
#
# Job K (parallel's sequence number PARALLEL_SEQ, from 1) runs shard K/N with `--shard auto`;
# the count is passed as --shard-count because parallel does not export it. Over ssh, the
# experiment, the results directory and the binary must be at the same absolute paths on every
# host (a shared filesystem); each shard writes only its own RESULTS/shard-K.
#
# A failed job: run the same command again with --retry-failed; parallel's job log keeps each
# job's sequence number, so a retried job is the same shard, and it resumes from its journal.
# The merge runs only when every job succeeded; otherwise it names the missing points.
#
# LINGER names the binary (default: `linger` on the PATH).
set -euo pipefail

experiment=${1:?usage: sweep.sh EXPERIMENT.toml RESULTS N [parallel options]}
results=${2:?usage: sweep.sh EXPERIMENT.toml RESULTS N [parallel options]}
shards=${3:?usage: sweep.sh EXPERIMENT.toml RESULTS N [parallel options]}
shift 3
linger=${LINGER:-linger}

mkdir -p "$results"
parallel --joblog "$results/parallel-joblog" "$@" \
    "$linger" sweep "$experiment" --out "$results/shard-{}" --shard auto --shard-count "$shards" \
    --threads 1 ::: $(seq 1 "$shards")
"$linger" merge "$results/shard-*" --out "$results/merged"
