package explore

import (
	"math"
	"testing"
)

func TestWilsonKnownValues(t *testing.T) {
	for _, tc := range []struct {
		k, n   int
		lo, hi float64
	}{
		// Reference values of the 95% Wilson score interval.
		{2, 3, 0.2077, 0.9385},
		{1, 3, 0.0615, 0.7923},
		{5, 10, 0.2366, 0.7634},
		{0, 10, 0, 0.2775},
		{10, 10, 0.7225, 1},
		{1, 1, 0.2065, 1},
		{18, 20, 0.6990, 0.9721},
		{0, 0, 0, 1},
	} {
		lo, hi := Wilson(tc.k, tc.n)
		if math.Abs(lo-tc.lo) > 5e-4 || math.Abs(hi-tc.hi) > 5e-4 {
			t.Errorf("Wilson(%d, %d) = %.4f–%.4f, want %.4f–%.4f", tc.k, tc.n, lo, hi, tc.lo, tc.hi)
		}
	}
}

func TestRatesOrderAndInterval(t *testing.T) {
	rs := Rates(map[string]int{"healthy": 1, "diverged": 2})
	if len(rs) != 2 || rs[0].Verdict != "diverged" || rs[0].Count != 2 || rs[0].Runs != 3 || math.Abs(rs[0].Share-2.0/3) > 1e-9 {
		t.Fatalf("rates %+v", rs)
	}
	// Rounded outwards, so the printed interval never claims more than it has.
	if got := rs[0].Interval(); got != "20–94%" {
		t.Errorf("2/3 interval %q", got)
	}
	if got := rs[1].Interval(); got != "6–80%" {
		t.Errorf("1/3 interval %q", got)
	}
}
