#!/usr/bin/env bash
# Reproduces the result tables of docs/simulate.md: every workload x world (exact; prefill and
# decode 20% slower than profiled; 20% faster), all planners, 3 seeds. Results go to
# docs/simulate-runs/<row>-<world>.{md,json,txt,log} (.log: the command and its wall time).
#
#   docs/simulate-runs.sh               # every row, JOBS (2) at a time, each on one core, niced
#   docs/simulate-runs.sh day azure     # only the rows named
#
# Needs the shared data next to the repository (../shared, or SHARED=DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=docs/simulate-runs

if [ "${1:-}" = "--one" ]; then # internal: one row and world
  base=$2; shift 2
  start=$(date +%s)
  echo "tidal simulate $*" > "$base.log"
  if GOMAXPROCS=1 nice -n 10 "$OUT/.tidal" simulate "$@" --quiet --json "$base.json" --markdown "$base.md" > "$base.txt" 2>&1; then
    echo "wall $(( $(date +%s) - start )) s" >> "$base.log"
  else
    echo "FAILED after $(( $(date +%s) - start )) s (see $base.txt)" >> "$base.log"
  fi
  exit 0
fi

S=${SHARED:-../shared}
JOBS=${JOBS:-2}
SEEDS=${SEEDS:-3}
BIG_SEEDS=${BIG_SEEDS:-1} # a ServeGen day costs ~7 built-in days per planner: one seed each by default
mkdir -p "$OUT"
go build -o "$OUT/.tidal" ./cmd/tidal

AZURE=$S/traces/azure_llm_2023/AzureLLMInferenceTrace_code.csv
row() {
  case $1 in
  day) echo "" ;;
  step) echo "--shape step --duration 6h" ;;
  spike) echo "--shape spike --duration 6h" ;;
  azure) echo "--workload $AZURE --format azure" ;;
  mooncake) echo "--workload $S/traces/mooncake_fast25/conversation_trace.jsonl --format mooncake --policy testdata/sim/mooncake-policy.yaml --drop-over-context" ;;
  aggregated) echo "--policy policies/examples/aggregated.yaml --rate 6" ;;
  hybrid) echo "--policy policies/examples/hybrid.yaml --profile $S/profiles/pre_swept_results/h100_sxm/vllm/nvidia/Llama-3.3-70B-Instruct-FP8 --rate 3" ;;
  m-large) echo "--workload $S/traces/servegen/data/language/m-large --format servegen --tokens-from $AZURE --start 24h --duration 24h --rate-scale 0.5" ;;
  m-small) echo "--workload $S/traces/servegen/data/language/m-small --format servegen --tokens-from $AZURE --start 24h --duration 24h --rate-scale 0.1" ;;
  *) echo "unknown row $1" >&2; exit 2 ;;
  esac
}
world() {
  case $1 in
  exact) echo "" ;;
  slow) echo "--world-prefill-speed 0.8 --world-decode-speed 0.8" ;;
  fast) echo "--world-prefill-speed 1.2 --world-decode-speed 1.2" ;;
  esac
}
# Cheap rows first; the ServeGen days (8-9 M requests each) last, exact world first.
ROWS=(azure mooncake step spike hybrid aggregated day)
BIG=(m-large m-small)
if [ $# -gt 0 ]; then ROWS=("$@"); BIG=(); fi
{
  for w in exact slow fast; do for r in "${ROWS[@]}"; do echo "$OUT/$r-$w $(row "$r") $(world "$w") --seeds $SEEDS"; done; done
  for w in exact slow fast; do for r in "${BIG[@]}"; do echo "$OUT/$r-$w $(row "$r") $(world "$w") --seeds $BIG_SEEDS"; done; done
} | xargs -P "$JOBS" -L 1 "$0" --one
