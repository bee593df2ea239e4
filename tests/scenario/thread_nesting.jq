# Exact nesting per thread, checked on a JSON trace (traces/FORMAT.md): on
# every thread (pid, tid), any two complete events are disjoint or one lies
# inside the other -- a child never ends after its parent. Viewers that build
# call stacks per thread (speedscope, chrome://tracing) rely on it.
# Prints one line per violation (at most 20) and nothing when the trace obeys.
# Times are microseconds, exact multiples of 2^-20 us, so ts + dur is exact
# in floating point; the slack is half a picosecond all the same.
# Zero-length sub-spans are instants ("ph":"i"): nothing to nest.
def slack: 0.0000005;
[.traceEvents[] | select(.ph == "X")]
| group_by([.pid, .tid])[]
| sort_by(.ts, -.dur)
| reduce .[] as $e ({stack: [], bad: []};
    ($e.ts + $e.dur) as $stop
    | .stack |= until(length == 0 or .[-1].stop > $e.ts + slack; .[:-1])
    | (if (.stack | length) > 0 and $stop > .stack[-1].stop + slack then
         .bad += ["pid \($e.pid) tid \($e.tid): \($e.name) [\($e.ts), \($stop)] ends after \(.stack[-1].name) [\(.stack[-1].ts), \(.stack[-1].stop)]"]
       else . end)
    | .stack += [{ts: $e.ts, stop: $stop, name: $e.name}])
| .bad[]
