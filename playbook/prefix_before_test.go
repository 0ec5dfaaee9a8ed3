package playbook

import "testing"

// The seed's steps a run starting at a step can take from a kept state:
// before 12 (no server runs after 11), before 12 for 13 and F2 too (both
// primary and replica run from 12 on), before 8 for 8, none for 0 or a
// step the playbook lacks.
func TestSeedPrefixBefore(t *testing.T) {
	d := Seed()
	at := func(id string) int {
		for i, st := range d.Steps {
			if st.ID == id {
				return i
			}
		}
		t.Fatalf("no step %s", id)
		return -1
	}
	for _, c := range []struct {
		from string
		want int
	}{{"12", at("12")}, {"13", at("12")}, {"F2", at("12")}, {"8", at("8")}, {"0", 0}, {"nope", 0}} {
		if got := d.PrefixBefore(c.from); got != c.want {
			t.Errorf("PrefixBefore(%s) = %d, want %d", c.from, got, c.want)
		}
	}
}
