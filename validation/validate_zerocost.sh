#!/usr/bin/env bash
# Validation of the zero-cost and NASWOT scorers against published Spearman values
# (docs in validation/validate_zerocost.py). Re-runnable and resumable: each chunk is its own
# run folder, and finished trials are skipped. Usage:
#   validation/validate_zerocost.sh [WORK_DIR] [nb201|zc|seedcheck|epe|zen|analyse|all]
# CPU only, one thread, low priority; the chunk order is seeded, so stopping early leaves a
# seeded random subset for every scorer.
set -euo pipefail
WORK=${1:-runs/validate_zerocost}
PART=${2:-all}
SHARED=$(cd "$(dirname "$0")/../.." && pwd)/shared/data
export HARNESS_DATA_DIR=$WORK/data OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$WORK"

# 1. NB-201 ground truth from the merged CSV (cifar10/ori-test = NB201 v1_1 test accuracy).
if [ ! -f "$HARNESS_DATA_DIR/nb201/ground_truth.parquet" ]; then
  harness data prepare nb201 --source "$SHARED/nb201/nb201_all_15625.csv" --columns \
"cifar10-valid/x-valid=cifar10_valid_xvalid_mean,cifar10-valid/ori-test=cifar10_valid_oritest_mean,\
cifar10/ori-test=cifar10_test_mean_nb201v1_1,cifar100/x-valid=cifar100_xvalid_mean,\
cifar100/x-test=cifar100_xtest_mean_natstss,imagenet16-120/x-valid=imagenet16_120_xvalid_mean,\
imagenet16-120/x-test=imagenet16_120_xtest_mean_natstss,params_m/cifar10=params_mb_cifar10"
fi
[ -d "$WORK/archs" ] || python validation/validate_zerocost.py archs --out "$WORK/archs"

COMMON=(--spaces nb201 --datasets cifar10 --metric nb201=cifar10/ori-test --workers 0 --quiet
        --no-report)

# 2. synflow and params on all 15,625 cells (no data needed), 250 archs per chunk.
if [ "$PART" = nb201 ] || [ "$PART" = all ]; then
  for list in "$WORK"/archs/nb201_*.txt; do
    nice -n 10 harness compare "${COMMON[@]}" --scorers synflow,params --arch-list "$list" \
      --out "$WORK/runs/$(basename "$list" .txt)"
  done
fi

# 3. Every proxy on the 725 NAS-Bench-Suite-Zero cifar10 archs with the 20 real CIFAR-10
#    images (batch 20: all of them), 25 archs per chunk.
if [ "$PART" = zc ] || [ "$PART" = all ]; then
  SCORERS=synflow,snip,grasp,fisher,grad_norm,jacob_cov,plain,l2_norm,naswot,params,flops
  OPTIONS=()
  for scorer in snip grasp fisher grad_norm jacob_cov plain naswot; do
    OPTIONS+=(--option "$scorer.batch_size=20")
  done
  for list in "$WORK"/archs/zc_*.txt; do
    nice -n 10 harness compare "${COMMON[@]}" --scorers "$SCORERS" "${OPTIONS[@]}" \
      --images "$SHARED/images/cifar10/cifar10_foolbox20.npz" --arch-list "$list" \
      --out "$WORK/runs/$(basename "$list" .txt)"
  done
fi

# 4. Seed check: the first zc chunk again under run seed 1 (another init and another
#    crop/flip/order of the 20 images) for the scorers whose agreement with the file is lowest.
if [ "$PART" = seedcheck ] || [ "$PART" = all ]; then
  OPTIONS=()
  for scorer in jacob_cov plain fisher grasp snip; do
    OPTIONS+=(--option "$scorer.batch_size=20")
  done
  nice -n 10 harness compare "${COMMON[@]}" --scorers jacob_cov,plain,fisher,grasp,snip \
    "${OPTIONS[@]}" --seeds 1 --images "$SHARED/images/cifar10/cifar10_foolbox20.npz" \
    --arch-list "$WORK/archs/zc_000.txt" --out "$WORK/seedcheck/seed1"
  python validation/validate_zerocost.py seedcheck --runs "$WORK/runs" --other "$WORK/seedcheck/seed1"
fi

# 5. epe_nas on the same NAS-Bench-Suite-Zero archs and images (run folders epe_zc_*).
if [ "$PART" = epe ] || [ "$PART" = all ]; then
  for list in "$WORK"/archs/zc_*.txt; do
    nice -n 10 harness compare "${COMMON[@]}" --scorers epe_nas --option epe_nas.batch_size=20 \
      --images "$SHARED/images/cifar10/cifar10_foolbox20.npz" --arch-list "$list" \
      --out "$WORK/runs/epe_$(basename "$list" .txt)"
  done
  nice -n 10 harness compare "${COMMON[@]}" --scorers epe_nas --option epe_nas.batch_size=20 \
    --seeds 1 --images "$SHARED/images/cifar10/cifar10_foolbox20.npz" \
    --arch-list "$WORK/archs/zc_000.txt" --out "$WORK/seedcheck/epe_seed1"
  python validation/validate_zerocost.py seedcheck --runs "$WORK/runs" \
    --other "$WORK/seedcheck/epe_seed1"
fi

# 6. zen (no data: Gaussian inputs) on the seeded NB-201 sample, 250 archs per chunk.
if [ "$PART" = zen ] || [ "$PART" = all ]; then
  for list in "$WORK"/archs/nb201_*.txt; do
    nice -n 10 harness compare "${COMMON[@]}" --scorers zen --arch-list "$list" \
      --out "$WORK/runs/zen_$(basename "$list" .txt)"
  done
fi

python validation/validate_zerocost.py analyse --runs "$WORK/runs"
