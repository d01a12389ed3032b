#!/usr/bin/env bash
# ZiCo, MeCo, SWAP, GradSign and trainable_layers on the real NB-201 table with the 20 real
# CIFAR-10 images of ../shared/data (validation/validation-new-proxies.md). Usage:
#   validation/new_proxies.sh [WORK_DIR] [SAMPLES]
# CPU, one thread, one worker; resumable (finished trials are skipped).
set -euo pipefail
WORK=${1:-runs/new_proxies}
SAMPLES=${2:-200}
SHARED=$(cd "$(dirname "$0")/../.." && pwd)/shared/data
export HARNESS_DATA_DIR=$WORK/data OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$WORK"
if [ ! -f "$HARNESS_DATA_DIR/nb201/ground_truth.parquet" ]; then
  harness data prepare nb201 --source "$SHARED/nb201/nb201_all_15625.csv" --columns \
"cifar10-valid/x-valid=cifar10_valid_xvalid_mean,cifar10-valid/ori-test=cifar10_valid_oritest_mean,\
cifar10/ori-test=cifar10_test_mean_natstss,cifar100/x-valid=cifar100_xvalid_mean,\
imagenet16-120/x-valid=imagenet16_120_xvalid_mean"
fi
nice -n 10 harness compare --spaces nb201 --datasets cifar10-valid \
  --scorers zico,meco,meco_opt,swap,swap_reg,gradsign,trainable_layers,params \
  --samples "$SAMPLES" --images "$SHARED/images/cifar10/cifar10_foolbox20.npz" \
  --workers 1 --quiet --no-report --out "$WORK/run"
harness report "$WORK/run" --bootstrap 1000 --paper
