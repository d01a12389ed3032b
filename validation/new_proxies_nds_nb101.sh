#!/usr/bin/env bash
# The proxies of 2021-2025 on every record of the eight NDS ImageNet sweeps and on 500 of
# GenNAS-Zero's NB-101 cells, each scorer on its own network form (validation/validation-new-
# proxies.md, "NDS ImageNet" and "NB-101"). Usage:
#   validation/new_proxies_nds_nb101.sh [WORK_DIR] [WORKERS]
# CPU, one thread per worker; resumable (finished trials are skipped).
set -euo pipefail
WORK=${1:-runs/new_proxies_nds_nb101}
WORKERS=${2:-1}
SHARED=$(cd "$(dirname "$0")/../.." && pwd)/shared/data
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
DATA=$WORK/data
mkdir -p "$WORK"
[ -f "$DATA/nds-darts/ground_truth.parquet" ] || harness data prepare nds --source "$SHARED/nds" --data-dir "$DATA"
[ -f "$DATA/nb101/ground_truth.parquet" ] || harness data prepare nb101 \
  --source "$SHARED/nb101/gennas_zero_nasbench1_2500.json" --data-dir "$DATA"
SWEEPS=nds-amoeba,nds-darts,nds-darts-f,nds-enas,nds-nasnet,nds-pnas,nds-resnext-a,nds-resnext-b
# NDS: the trained networks at 32x32 (AZ-NAS tapping every cell or block); MeCo's one image
# reaches a 1x1 map under a training-mode BatchNorm there, so it runs on GenNAS's stride-1
# form, and so does GradSign (per-image gradients: the same 1x1 problem).
nice -n 10 harness compare --data-dir "$DATA" --spaces "$SWEEPS" --datasets imagenet \
  --samples all --sample-seed 0 --scorers zico,swap_reg,trainable_layers,params \
  --workers "$WORKERS" --quiet --no-report --out "$WORK/nds"
nice -n 10 harness compare --data-dir "$DATA" --spaces "$SWEEPS" --datasets imagenet \
  --samples all --sample-seed 0 --scorers az_nas,meco --option meco.network=gennas \
  --workers "$WORKERS" --quiet --no-report --extend --out "$WORK/nds"
nice -n 10 harness compare --data-dir "$DATA" --spaces "$SWEEPS" --datasets imagenet \
  --samples all --sample-seed 0 --scorers gradsign --option gradsign.network=gennas \
  --workers "$WORKERS" --quiet --no-report --extend --out "$WORK/nds"
harness report "$WORK/nds" --bootstrap 1000 --paper
# NB-101: the benchmark network (stem 128), 500 cells drawn with sample seed 0.
nice -n 10 harness compare --data-dir "$DATA" --spaces nb101 --samples 500 --sample-seed 0 \
  --scorers zico,meco,trainable_layers --workers "$WORKERS" --quiet --no-report --out "$WORK/nb101"
nice -n 10 harness compare --data-dir "$DATA" --spaces nb101 --samples 500 --sample-seed 0 \
  --scorers az_nas,gradsign --workers "$WORKERS" --quiet --no-report --extend --out "$WORK/nb101"
harness report "$WORK/nb101" --bootstrap 1000
