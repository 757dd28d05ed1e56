#!/usr/bin/env bash
# Reproduces the result tables of docs/simulate.md: every workload x world (exact; prefill and
# decode 20% slower than profiled; 20% faster), all planners, 3 seeds. Results go to
# docs/simulate-runs/<row>-<world>.{md,json,txt,log} (.log: the command and its wall time).
#
#   docs/simulate-runs.sh               # every row, JOBS (2) at a time, each on one core, niced
#   docs/simulate-runs.sh day azure     # only the rows named
#   docs/simulate-runs.sh --panel DIR [rows...]   # tidal alone, one seed (SEED, 1), every world
#   docs/simulate-runs.sh --days DIR [days...]     # ServeGen's 14 days, both models, exact world
#   WORLDS="prefill-slow decode-slow" COMPARE=hindsight,static,hpa docs/simulate-runs.sh --panel DIR
#                                                  # the mixed worlds, with rivals (held-out check)
#   WORLD=slow docs/simulate-runs.sh --days DIR    # the 28 days in another world
#   COMPARE=hindsight,static,hpa docs/simulate-runs.sh --panel docs/simulate-runs/decode-heavy chat reasoning reasoning-busy
#                                                  # the built-in day with decode-heavy lengths (held-out)
#   COMPARE=hindsight,static,hpa docs/simulate-runs.sh --panel docs/simulate-runs/slo slo-ttft-150ms slo-ttft-600ms \
#     slo-itl-15ms slo-itl-40ms slo-objective-95 slo-objective-99.9
#                                                  # the built-in day under other SLOs (held-out)
#   COMPARE=hindsight,static,hpa docs/simulate-runs.sh --panel docs/simulate-runs/deploy scrape-30s scrape-60s \
#     scrape-2m startup-1m startup-6m startup-10m interval-30s interval-2m
#                                                  # the built-in day on other deployments (held-out)
#   COMPARE=hindsight,static,hpa docs/simulate-runs.sh --panel docs/simulate-runs/models 70b-tp2 70b-tp4 70b-tp8
#                                                  # the built-in day on another model and GPU (held-out)
#   COMPARE=hindsight,static,hpa docs/simulate-runs.sh --panel docs/simulate-runs/days72 day-72h 70b-tp4-72h
#                                                  # three days instead of one (held-out)
#   COMPARE=hindsight,static,hpa docs/simulate-runs.sh --panel docs/simulate-runs/bursts bursts-0 bursts-24-2-2m \
#     bursts-8-1.6-4m bursts-4-1.6-30m bursts-4-3-10m
#                                                  # the built-in day with other bursts (held-out)
#   docs/simulate-runs.sh --headroom DIR [h...]    # tidal alone at planning.headroom h (0 0.1 0.25 0.5 1)
#
# The panel is the quick check docs/planner.md's "panel, tidal alone, seed 1" figures come from:
# each row and world once, no rival and no hindsight search (about a minute without the ServeGen
# days, two with them, JOBS at a time). It prints one line per run (attainment, GPU-hours, scale
# events, and pages/tickets: how often the burn-rate alerts would have fired) and keeps each run's
# JSON and table in DIR; with BASE=an earlier panel's DIR it prints that panel's figures beside
# them.
# WORLDS (default "exact slow fast") names the panel's worlds: besides the table's three,
# prefill-slow (prefill 20% slower than profiled, decode 20% faster) and decode-slow (the reverse),
# in which no change was measured. COMPARE (default none) adds rivals to the panel; each line then
# carries every planner's attainment, GPU-hours and scale events.
# The days are the check against traffic no change was tuned on: the table replays day 2 of each
# ServeGen model; --days replays every day of both (m-large x0.5, m-small x0.1; days 1-14 unless
# named), tidal alone (COMPARE=hpa,static adds rivals: minutes per day each, not seconds), seed
# SEED (1), in world WORLD (exact unless set), and prints one line per day and the days below the
# policy's 99% objective.
# --headroom measures what a standing margin buys: the embedded policy with planning.headroom set to
# each value (DIR/h<value>.yaml), tidal alone, seed SEED (1), on the built-in day, the step and the
# spike in every world, and with DAYS="1 2 ..." also those ServeGen days of both models (as --days).
# It prints one line per run and headroom (attainment, GPU-hours, scale events).
# Needs the shared data next to the repository (../shared, or SHARED=DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=docs/simulate-runs

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then # the header above, without its marks
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit 0
fi

if [ "${1:-}" = "--one" ]; then # internal: one row and world
  base=$2; shift 2
  if [ -f "$base.log" ] && ! grep -q FAILED "$base.log"; then exit 0; fi # done or running already
  start=$(date +%s)
  echo "tidal simulate $*" > "$base.log"
  if GOMAXPROCS=1 nice -n 10 "$OUT/.tidal" simulate "$@" --quiet --json "$base.json" --markdown "$base.md" > "$base.txt" 2>&1; then
    echo "wall $(( $(date +%s) - start )) s" >> "$base.log"
  else
    echo "FAILED after $(( $(date +%s) - start )) s (see $base.txt)" >> "$base.log"
  fi
  exit 0
fi

if [ "${1:-}" = "--assemble" ]; then # write docs/simulate-results.md from what has finished
  {
    echo "# tidal simulate: results on the shared traces"
    echo
    echo "Generated by \`docs/simulate-runs.sh --assemble\` from \`docs/simulate-runs/\` (commands below;"
    echo "run from the repository root with the shared data in ../shared). See docs/simulate.md for what"
    echo "the planners and the worlds are. Worlds: *exact* (the engines are the profile the planners read),"
    echo "*slow* (prefill and decode 20% slower than profiled), *fast* (20% faster)."
    for r in day step spike azure mooncake aggregated hybrid m-large m-small; do
      for w in exact slow fast; do
        b=$OUT/$r-$w
        echo; echo "## $r, $w world"; echo
        if [ -f "$b.md" ] && grep -q wall "$b.log" 2>/dev/null; then
          echo '```sh'; head -1 "$b.log"; echo '```'; echo; echo "$(tail -1 "$b.log") (GOMAXPROCS=1, niced, on the shared 2-core machine: mostly waiting for CPU)."; echo
          cat "$b.md"
        elif [ -f "$b.log" ] && grep -q FAILED "$b.log"; then
          echo "Failed: $(tail -1 "$b.log")"; echo; echo '```'; tail -5 "$b.txt"; echo '```'
        else
          echo "Not run (out of time in the session that published this page)."
        fi
        h=$OUT/hindsight-$r-$w
        if [ -f "$h.md" ] && grep -q wall "$h.log" 2>/dev/null; then
          echo; echo "hindsight, run separately (same seed and workload, so the same tidal row):"; echo
          echo '```sh'; head -1 "$h.log"; echo '```'; echo; echo "$(tail -1 "$h.log") (GOMAXPROCS=1, niced, shared machine)."; echo
          cat "$h.md"
        fi
      done
    done
  } > docs/simulate-results.md
  exit 0
fi

S=${SHARED:-../shared}
JOBS=${JOBS:-2}
SEEDS=${SEEDS:-3}
# A ServeGen day (8-9 M requests) costs about seven built-in days per planner and its hindsight
# search tens of CPU-minutes: by default one seed and no hindsight (BIG_COMPARE to change).
BIG_SEEDS=${BIG_SEEDS:-1}
BIG_COMPARE=${BIG_COMPARE:-static,hpa,dynamo,dynamo-fpm}
case "${1:-}" in --panel | --days | --headroom) ;; *) mkdir -p "$OUT"; go build -o "$OUT/.tidal" ./cmd/tidal ;; esac

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
  m-large | m-small) day_args "$1" 2 ;;
  chat) echo "--tokens-from testdata/sim/chat-tokens.csv" ;;
  reasoning) echo "--tokens-from testdata/sim/reasoning-tokens.csv --rate 5" ;;
  reasoning-busy) echo "--tokens-from testdata/sim/reasoning-tokens.csv --rate 15" ;;
  slo-*) # the built-in day under another policy's SLO (testdata/sim/slo)
    [ -f "testdata/sim/slo/${1#slo-}.yaml" ] || { echo "unknown row $1: no testdata/sim/slo/${1#slo-}.yaml" >&2; exit 2; }
    echo "--policy testdata/sim/slo/${1#slo-}.yaml" ;;
  scrape-*) echo "--scrape-interval ${1#scrape-}" ;; # the built-in day, Prometheus scraping less often
  startup-* | interval-*) # the built-in day under another deployment's policy (testdata/sim/deploy)
    [ -f "testdata/sim/deploy/$1.yaml" ] || { echo "unknown row $1: no testdata/sim/deploy/$1.yaml" >&2; exit 2; }
    echo "--policy testdata/sim/deploy/$1.yaml" ;;
  bursts-*) # the built-in day with other bursts: bursts-N[-FACTOR[-LENGTH]], N a day, at FACTOR x
    # the rate for LENGTH (unset: the scenario's 1.6 and 10m)
    local n f l
    IFS=- read -r _ n f l <<< "$1"
    [[ "$n" =~ ^[0-9]+$ ]] || { echo "unknown row $1: want bursts-N[-FACTOR[-LENGTH]]" >&2; exit 2; }
    echo "--bursts $n${f:+ --burst-factor $f}${l:+ --burst-length $l}" ;;
  *-72h) # the row over three days: a synthetic workload generated for 72 hours, with the single
    # day's four bursts a day (the scenario's count is per run: alone, --duration 72h would spread
    # four over the three days); its bursts fall elsewhere each day. A later --duration overrides
    # the row's own
    local base; base=$(row "${1%-72h}") || exit 2
    echo "$base --duration 72h --bursts 4" ;;
  70b-tp*) # the built-in day on Llama-3.3-70B-Instruct-FP8, H100, one pre-swept TP (testdata/sim/models)
    [ -f "testdata/sim/models/$1.yaml" ] || { echo "unknown row $1: no testdata/sim/models/$1.yaml" >&2; exit 2; }
    echo "--policy testdata/sim/models/$1.yaml --profile $S/profiles/pre_swept_results/h100_sxm/vllm/nvidia/Llama-3.3-70B-Instruct-FP8" ;;
  *) echo "unknown row $1" >&2; exit 2 ;;
  esac
}
# day_args MODEL DAY: one ServeGen day of a model, as the table and --days replay it (m-large x0.5,
# m-small x0.1, the Azure code trace's token lengths).
day_args() {
  local scale=0.5
  [ "$1" = m-small ] && scale=0.1
  echo "--workload $S/traces/servegen/data/language/$1 --format servegen --tokens-from $AZURE --start $(( ($2 - 1) * 24 ))h --duration 24h --rate-scale $scale"
}
world() {
  case $1 in
  exact) echo "" ;;
  slow) echo "--world-prefill-speed 0.8 --world-decode-speed 0.8" ;;
  fast) echo "--world-prefill-speed 1.2 --world-decode-speed 1.2" ;;
  prefill-slow) echo "--world-prefill-speed 0.8 --world-decode-speed 1.2" ;;
  decode-slow) echo "--world-prefill-speed 1.2 --world-decode-speed 0.8" ;;
  *) echo "unknown world $1 (exact, slow, fast, prefill-slow, decode-slow)" >&2; exit 2 ;;
  esac
}
# simulate_each runs each line of its input, "OUT ARGS...", as `tidal simulate ARGS` with the binary
# built next to OUT, JOBS at a time on one core each, against the rivals COMPARE names (none by
# default), writing OUT.json and OUT.txt.
simulate_each() {
  xargs -P "$JOBS" -L 1 bash -c 'o=$0; GOMAXPROCS=1 "$(dirname "$o")/.tidal" simulate "$@" --compare "${COMPARE:-}" --quiet --json "$o.json" > "$o.txt" 2>&1 || echo "FAILED: $o.txt"'
}
if [ "${1:-}" = "--panel" ]; then
  dir=${2:?--panel needs an output directory}; shift 2
  mkdir -p "$dir"
  go build -o "$dir/.tidal" ./cmd/tidal
  rows=("$@"); [ ${#rows[@]} -gt 0 ] || rows=(day step spike azure mooncake aggregated hybrid m-large m-small)
  # Names checked here: in the $(...) below a bad one would only end that subshell.
  for r in "${rows[@]}"; do row "$r" > /dev/null; done
  for w in ${WORLDS:-exact slow fast}; do world "$w" > /dev/null; done
  for r in "${rows[@]}"; do for w in ${WORLDS:-exact slow fast}; do
    echo "$dir/$r-$w $(row "$r") $(world "$w") --seed ${SEED:-1}"
  done; done | simulate_each
  # name, attainment, GPU-hours, scale events, then pages/tickets (the burn-rate alerts' counts);
  # with rivals, then each rival's attainment, GPU-hours and scale events
  line() { awk -v n="$(basename "$1" .txt)" '$2 ~ /%$/ && $1 == "tidal" {r = n " " $2 " " $3 " " $NF}
    $2 ~ /%$/ && $1 != "tidal" {o = o " " $1 " " $2 " " $3 " " $NF}
    $1 == "tidal:" && $2 == "pages" {a = $3 "/" $6}
    END {if (r != "") print r, (a == "" ? "-" : a) o}' "$1"; }
  for f in "$dir"/*.txt; do
    now=$(line "$f")
    if [ -n "${BASE:-}" ] && [ -f "$BASE/$(basename "$f")" ]; then
      echo "$(line "$BASE/$(basename "$f")") -> ${now#* }"
    else
      echo "$now"
    fi
  done | column -t
  exit 0
fi

if [ "${1:-}" = "--days" ]; then
  dir=${2:?--days needs an output directory}; shift 2
  mkdir -p "$dir"
  go build -o "$dir/.tidal" ./cmd/tidal
  days=("$@"); [ ${#days[@]} -gt 0 ] || days=($(seq 1 14))
  world "${WORLD:-exact}" > /dev/null # checked here, as the panel's names are
  for d in "${days[@]}"; do for m in m-large m-small; do
    echo "$dir/$m-d$d $(day_args $m "$d") $(world "${WORLD:-exact}") --seed ${SEED:-1}"
  done; done | simulate_each
  for f in "$dir"/*.txt; do # name, then planner attainment GPU-hours scale-events for each planner
    awk -v n="$(basename "$f" .txt)" 'BEGIN {printf "%s", n} $2 ~ /%$/ && ($1 == "tidal" || $1 == "hpa" || $1 == "static") {printf " %s %s %s %s", $1, $2, $3, $NF} END {print ""}' "$f"
  done | sort -V | column -t | tee "$dir/days.txt"
  echo "days below 99% (tidal): $(awk '$3 + 0 < 99' "$dir/days.txt" | wc -l) of $(wc -l < "$dir/days.txt")"
  exit 0
fi

if [ "${1:-}" = "--headroom" ]; then
  dir=${2:?--headroom needs an output directory}; shift 2
  mkdir -p "$dir"
  go build -o "$dir/.tidal" ./cmd/tidal
  hs=("$@"); [ ${#hs[@]} -gt 0 ] || hs=(0 0.1 0.25 0.5 1)
  for h in "${hs[@]}"; do
    # The embedded policy with planning.headroom set (the only change).
    sed "s/^    interval: 60s.*/&\n    headroom: $h/" planner/sim/scenario/default-policy.yaml > "$dir/h$h.yaml"
    grep -q "^    headroom: $h\$" "$dir/h$h.yaml" || { echo "could not set headroom in $dir/h$h.yaml" >&2; exit 1; }
    for r in day step spike; do for w in exact slow fast; do
      echo "$dir/$r-$w-h$h $(row "$r") $(world "$w") --policy $dir/h$h.yaml --seed ${SEED:-1}"
    done; done
    [ -z "${DAYS:-}" ] || for d in $DAYS; do for m in m-large m-small; do
      echo "$dir/$m-d$d-h$h $(day_args $m "$d") --policy $dir/h$h.yaml --seed ${SEED:-1}"
    done; done
  done | COMPARE= simulate_each
  for f in "$dir"/*.txt; do # run, headroom, attainment, GPU-hours, scale events
    n=$(basename "$f" .txt)
    awk -v r="${n%-h*}" -v h="${n##*-h}" '$1 == "tidal" && $2 ~ /%$/ {print r, h, $2, $3, $NF; exit}' "$f"
  done | sort -V -k1,1 -k2,2 | column -t | tee "$dir/headroom.txt"
  exit 0
fi

# Cheap rows first; the ServeGen days (8-9 M requests each) last, exact world first.
ROWS=(azure mooncake step spike hybrid aggregated day)
BIG=(m-large m-small)
if [ $# -gt 0 ]; then ROWS=("$@"); BIG=(); fi
# row runs in a subshell below, where its exit would not stop the table: check every name first.
for r in "${ROWS[@]}" "${BIG[@]}"; do row "$r" > /dev/null; done
{
  for w in exact slow fast; do for r in "${ROWS[@]}"; do echo "$OUT/$r-$w $(row "$r") $(world "$w") --seeds $SEEDS"; done; done
  for w in exact slow fast; do for r in "${BIG[@]}"; do echo "$OUT/$r-$w $(row "$r") $(world "$w") --compare $BIG_COMPARE --seeds $BIG_SEEDS"; done; done
} | xargs -P "$JOBS" -L 1 "$0" --one
