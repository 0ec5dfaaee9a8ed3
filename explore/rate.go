package explore

import (
	"fmt"
	"math"
	"sort"
)

// z95 is the standard normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// Rate is one verdict's share of a cell's runs with its 95% Wilson score
// interval: with few runs the interval is wide, so 2 of 3 reads as the weak
// evidence it is.
type Rate struct {
	Verdict string  `json:"verdict"`
	Count   int     `json:"count"`
	Runs    int     `json:"runs"`
	Share   float64 `json:"share"`
	Low     float64 `json:"low"`  // lower bound of the 95% interval, 0..1
	High    float64 `json:"high"` // upper bound of the 95% interval, 0..1
}

// Wilson returns the 95% Wilson score interval of k successes in n trials.
// Unlike the normal approximation it stays inside [0, 1] and is not zero
// wide at 0/n or n/n. n = 0 gives the whole range: nothing is known.
func Wilson(k, n int) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	if k < 0 {
		k = 0
	}
	if k > n {
		k = n
	}
	p := float64(k) / float64(n)
	nn := float64(n)
	z2 := z95 * z95
	centre := (p + z2/(2*nn)) / (1 + z2/nn)
	half := z95 / (1 + z2/nn) * math.Sqrt(p*(1-p)/nn+z2/(4*nn*nn))
	lo, hi = centre-half, centre+half
	// Rounding must not put the bounds past the share at 0/n and n/n.
	if k == 0 {
		lo = 0
	}
	if k == n {
		hi = 1
	}
	return math.Max(0, lo), math.Min(1, hi)
}

// Rates are the shares of each verdict among the runs given, most frequent
// first (then by name).
func Rates(verdicts map[string]int) []Rate {
	n := 0
	for _, k := range verdicts {
		n += k
	}
	out := make([]Rate, 0, len(verdicts))
	for v, k := range verdicts {
		lo, hi := Wilson(k, n)
		out = append(out, Rate{Verdict: v, Count: k, Runs: n, Share: float64(k) / float64(n), Low: lo, High: hi})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Verdict < out[j].Verdict
	})
	return out
}

// Interval is the rate's interval for reading: "21–94%".
func (r Rate) Interval() string {
	return fmt.Sprintf("%.0f–%.0f%%", math.Floor(r.Low*100), math.Ceil(r.High*100))
}
