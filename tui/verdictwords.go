package tui

import (
	"fmt"
	"strings"

	"walstep/pg"
)

// verdictSummary is the diagnosis in one short sentence for the panel,
// naming the standby it is about (the seed's is "the replica").
func verdictSummary(d pg.Diagnosis) string {
	sb := standbyWord(d)
	switch d.Verdict {
	case pg.VerdictDiverged:
		if pastFork(d) {
			return fmt.Sprintf("%s %s timeline %d to %s, past the fork at %s", sb, replayedOrWrote(d), d.ReplicaTimeline, d.ReplicaLSN, d.ForkLSN)
		}
	case pg.VerdictStalled:
		return fmt.Sprintf("%s's replay has not moved from %s for %s", sb, d.ReplicaLSN, d.StalledFor)
	case pg.VerdictHealthy:
		if len(d.Standbys) > 1 {
			return "every standby follows its upstream: " + followList(d)
		}
		return fmt.Sprintf("%s follows timeline %d at %s", sb, d.ReplicaTimeline, d.ReplicaLSN)
	}
	return firstSentence(d.Explanation)
}

// verdictForms are the verdict's wordings, longest first: the sentence,
// then shorter ones for a narrow panel.
func verdictForms(d pg.Diagnosis) []string {
	forms := []string{verdictSummary(d)}
	who := ""
	if d.Standby != "" && d.Standby != "replica" {
		who = d.Standby + " " // a lab of other names says which standby
	}
	switch d.Verdict {
	case pg.VerdictDiverged:
		if pastFork(d) {
			did := replayedOrWrote(d)
			forms = append(forms,
				fmt.Sprintf("%s%s TL%d to %s, past the fork %s", who, did, d.ReplicaTimeline, d.ReplicaLSN, d.ForkLSN),
				fmt.Sprintf("%s%s TL%d past the fork", who, did, d.ReplicaTimeline))
		}
	case pg.VerdictStalled:
		forms = append(forms, fmt.Sprintf("%sreplay stands at %s", who, d.ReplicaLSN))
	case pg.VerdictHealthy:
		if len(d.Standbys) > 1 {
			forms = append(forms, followList(d), fmt.Sprintf("all %d standbys follow", len(d.Standbys)))
		} else {
			forms = append(forms, fmt.Sprintf("%sfollows TL%d at %s", who, d.ReplicaTimeline, d.ReplicaLSN))
		}
	}
	return forms
}

// pastFork reports a divergence by position: the standby replayed its
// upstream's old timeline beyond where that left it.
func pastFork(d pg.Diagnosis) bool {
	return d.ForkLSN.Valid() && d.ReplicaLSN > d.ForkLSN && d.ReplicaTimeline == d.ForkParent
}

// replayedOrWrote is how the standby came past the fork: it replayed the
// old timeline, or, run as a primary there (two promotions), wrote it.
func replayedOrWrote(d pg.Diagnosis) string {
	if d.WrotePastFork {
		return "wrote"
	}
	return "replayed"
}

// standbyWord names the standby a verdict is about in a sentence.
func standbyWord(d pg.Diagnosis) string {
	if d.Standby == "" || d.Standby == "replica" {
		return "the replica"
	}
	return "standby " + d.Standby
}

// followList is each standby and the node it follows: "b follows a, c
// follows b".
func followList(d pg.Diagnosis) string {
	parts := make([]string, len(d.Standbys))
	for i, s := range d.Standbys {
		parts[i] = s.Standby + " follows " + s.Upstream
	}
	return strings.Join(parts, ", ")
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
