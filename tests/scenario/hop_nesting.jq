# The hop nesting rule, checked on a JSON trace (traces/FORMAT.md):
#  - every completed request's hop spans follow each other with no gap, and
#    their hop numbers never go back;
#  - it passes through every hop its architecture uses ($hops, e.g. "1,4,5,8");
#  - every sub-span tagged with a request and a hop lies inside a span of that
#    request in that hop.
# Prints one line per violation (at most 20) and nothing when the trace obeys.
# Times are microseconds, exact multiples of 2^-20 us; the slack is half a
# picosecond. A zero-length sub-span is an instant ("ph":"i", no dur).
def slack: 0.0000005;
($hops | split(",") | map("H" + .)) as $need
| [.traceEvents[] | select((.ph == "X" or .ph == "i") and .args.req != null) | .dur //= 0] as $ev
| ($ev | map(select(.cat == "hop")) | group_by(.args.req)
   | map({key: .[0].args.req, value: (sort_by(.ts, .args.hop))}) | from_entries) as $byreq
| ($byreq | to_entries | map(.value | select(any(.[]; .args.hop == "H8")) | .[0].args.req)) as $done
| (
    # hop order and contiguity of each completed request
    ($done[] as $r | $byreq[$r] as $s
     | (if ([$s[].args.hop] | unique) as $u | ($need - $u) != [] then
          "\($r): hops \([$s[].args.hop] | join(" ")) lack \(($need - ([$s[].args.hop] | unique)) | join(" "))"
        else empty end),
       (range(1; $s | length) as $i
        | if ($s[$i].args.hop < $s[$i - 1].args.hop) then
            "\($r): \($s[$i].args.hop) after \($s[$i - 1].args.hop)"
          elif (($s[$i].ts - ($s[$i - 1].ts + $s[$i - 1].dur)) | fabs) > slack then
            "\($r): gap or overlap between \($s[$i - 1].args.hop) and \($s[$i].args.hop)"
          else empty end)),
    # sub-spans inside their hop
    ($ev[] | select(.cat != "hop" and .args.hop != null) as $e
     | ($byreq[$e.args.req] // []) as $s
     | select($s | any(.[]; .args.hop == "H8"))
     | select(($s | any(.[]; .args.hop == $e.args.hop and .ts <= $e.ts + slack
                       and $e.ts + $e.dur <= .ts + .dur + slack)) | not)
     | "\($e.args.req): \($e.name) [\($e.ts), \($e.ts + $e.dur)] tagged \($e.args.hop) lies outside it")
  )
| select(. != null)
