# Shared by the benchmark scripts (sourced, not run).

# Median wall time in ms of RUNS runs of "$@" (one warm-up first), stdout thrown away.
median_ms() {
    "$@" >/dev/null
    local times=()
    for ((r = 0; r < RUNS; r++)); do
        local t0 t1
        t0=$(date +%s%N)
        "$@" >/dev/null
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}
