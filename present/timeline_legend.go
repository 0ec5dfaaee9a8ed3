package present

import (
	"fmt"

	"github.com/charmbracelet/lipgloss"

	"walstep/pg"
)

// isPrimary reports a server that answers out of recovery. Two of them,
// one meant to follow the other, are a split brain: the follower is
// judged against the other's history.
func isPrimary(r pg.Reading) bool { return r.Up && !r.InRecovery }

// nodePlace is where a node stands in the picture, against the node it
// follows.
type nodePlace struct {
	pos                  pg.LSN
	tli, upTLI           uint32
	pastFork, offHistory bool
	forkAt               pg.LSN
	style                lipgloss.Style
}

// note is what the legend adds about a standby off its upstream's path.
func (p nodePlace) note(width int) string {
	switch {
	case p.pastFork && width >= 44:
		return "past fork " + p.forkAt.String()
	case p.pastFork:
		return "past fork!"
	case p.offHistory && width >= 48:
		return fmt.Sprintf("not in TL%d's history!", p.upTLI)
	case p.offHistory:
		return "off history!"
	}
	return ""
}

// replicaPlace reads the primary's history: which fork the replica must
// not pass, and whether the replica's timeline is part of it at all.
func replicaPlace(hs []pg.History, pTLI uint32, rPos pg.LSN, rTLI uint32) (pastFork, offHistory bool, forkAt pg.LSN) {
	if !rPos.Valid() || rTLI == 0 || pTLI == 0 || rTLI == pTLI {
		return false, false, 0
	}
	if pTLI == 1 {
		offHistory = true
	}
	for _, h := range hs {
		if h.TLI != pTLI {
			continue
		}
		offHistory = true
		for _, e := range h.Entries {
			if e.TLI == rTLI {
				offHistory = false
				pastFork, forkAt = rPos > e.Switch, e.Switch
			}
		}
	}
	return pastFork, offHistory, forkAt
}

// legendLine says where a server is, with a note when it matters.
func legendLine(ch rune, name string, r pg.Reading, pos pg.LSN, tli uint32, style lipgloss.Style, note string, alarm bool, width int, st DiagStyles) string {
	var text string
	if !pos.Valid() {
		text = fmt.Sprintf(" %s: no position yet", name)
	} else {
		text = fmt.Sprintf(" %s %s TL%d", name, pos, tli)
		if !r.Up {
			text += " (" + downWord(r) + ")"
		}
	}
	line := style.Render(string(ch)) + st.Label.Render(diagClip(text, width-1))
	if note != "" && lipgloss.Width(line)+1+len(note) <= width {
		ns := st.Label
		if alarm {
			ns = st.Alarm
		}
		line += " " + ns.Render(note)
	}
	return line
}

func downWord(r pg.Reading) string {
	switch {
	case r.Role == pg.RoleShutInRecovery, r.Role == pg.RoleShutDown:
		return "stopped"
	case r.Process != "":
		return string(r.Process)
	}
	return "down"
}
