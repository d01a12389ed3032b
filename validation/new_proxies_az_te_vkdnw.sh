#!/usr/bin/env bash
# AZ-NAS, TE-NAS and VKDNW parts on the real NB-201 table with the 20 real CIFAR-10 images
# (validation/validation-new-proxies.md, "AZ-NAS, TE-NAS and VKDNW parts").
# Two runs sized to a CPU budget: the cheap parts on SAMPLES_CHEAP archs, ntk_cond and vkdnw
# (one backward pass per image; one per image and class) on SAMPLES_COSTLY archs.
# Usage: validation/new_proxies_az_te_vkdnw.sh OUT_DIR [SAMPLES_CHEAP] [SAMPLES_COSTLY]
set -euo pipefail
out="$1"; cheap="${2:-80}"; costly="${3:-24}"
shared="$(dirname "$0")/../../shared/data"
export HARNESS_DATA_DIR="$out/data"
harness data prepare nb201 --source "$shared/nb201/nb201_all_15625.csv" \
    --columns "cifar10-valid/x-valid=cifar10_valid_xvalid_mean,cifar10/ori-test=cifar10_test_mean_natstss,cifar100/x-valid=cifar100_xvalid_mean,imagenet16-120/x-valid=imagenet16_120_xvalid_mean"
images="$shared/images/cifar10/cifar10_foolbox20.npz"
time harness compare --spaces nb201 --datasets cifar10 --samples "$cheap" --sample-seed 0 \
    --scorers az_expressivity,az_progressivity,az_trainability,az_complexity,linear_regions \
    --images "$images" --workers 1 --quiet --out "$out/cheap"
time harness compare --spaces nb201 --datasets cifar10 --samples "$costly" --sample-seed 0 \
    --scorers ntk_cond,vkdnw --images "$images" --workers 1 --quiet --out "$out/costly"
harness report "$out/cheap" --bootstrap 1000
harness report "$out/costly" --bootstrap 1000
