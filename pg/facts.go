package pg

import (
	"fmt"
	"strings"
	"time"
)

// Tone says how a fact reads: the front ends style it, the words carry it.
type Tone int

// Tones of a fact.
const (
	TonePlain Tone = iota
	ToneGood       // a server that answers
	ToneBusy       // starting, stopping
	ToneBad        // crashed
	ToneMuted      // stopped, not created, an error's text
)

// Fact is one line of what is known about a server. Label is "" for the
// server's state and for an error, which read without one.
type Fact struct {
	Label string
	Value string
	Tone  Tone
}

// FactOptions tell Facts when the reading is looked at.
type FactOptions struct {
	Now time.Time // zero: the reading's age is not told
	// StaleAfter is when a reading of a running server is old enough to
	// say so; 0 never.
	StaleAfter time.Duration
}

// Facts is what the side panel, the report and the transcript say about a
// reading, in that order: its state, timeline, position, receiver, slots,
// the reading's age when it matters, and the last error. A field added here
// shows in every front end.
func Facts(r Reading, o FactOptions) []Fact {
	proc := r.Process
	if proc == "" {
		proc = ProcNone
	}
	tone := ToneMuted
	switch proc {
	case ProcUp:
		tone = ToneGood
	case ProcStarting:
		tone = ToneBusy
	case ProcCrashed:
		tone = ToneBad
	}
	state := string(proc)
	if r.Role != "" && r.Role != RoleUnknown {
		state += " · " + string(r.Role)
	}
	if proc == ProcCrashed && r.ProcDetail != "" {
		state += " (" + r.ProcDetail + ")"
	}
	out := []Fact{{Value: state, Tone: tone}}
	add := func(label, value string) { out = append(out, Fact{Label: label, Value: value}) }

	tl := "-"
	if r.Timeline > 0 {
		tl = fmt.Sprintf("%d", r.Timeline)
		if r.TLISource != "" {
			tl += " (" + ShortSource(r.TLISource) + ")"
		}
	}
	add("timeline", tl)
	switch {
	case r.Up && !r.InRecovery:
		add("flush", r.FlushLSN.OrDash())
	case r.Up:
		add("replay", r.ReplayLSN.OrDash()+"  recv "+r.ReceiveLSN.OrDash())
	case r.Control != nil:
		c := r.Control
		if c.MinRecoveryPoint.Valid() {
			add("min rec", fmt.Sprintf("%s on tl %d", c.MinRecoveryPoint, c.MinRecoveryTLI))
		} else {
			add("checkpt", fmt.Sprintf("%s on tl %d", c.CheckpointLSN.OrDash(), c.CheckpointTLI))
		}
	}
	if r.Up && r.InRecovery {
		recv := "none"
		if rc := r.Receiver; rc != nil {
			status := rc.Status
			if status == "streaming" && !rc.Streaming {
				status = "connecting (streaming not confirmed)"
			}
			recv = fmt.Sprintf("%s, tl %d, flushed %s", status, rc.ReceivedTLI, rc.FlushedLSN.OrDash())
		}
		add("receiver", recv)
	}
	if len(r.Slots) > 0 {
		var ss []string
		for _, s := range r.Slots {
			a := "inactive"
			if s.Active {
				a = "active"
			}
			ss = append(ss, fmt.Sprintf("%s (%s)", s.Name, a))
		}
		add("slots", strings.Join(ss, ", "))
	}
	// A reading's age matters when it is not fresh: the server is down,
	// or polls are slow.
	if !o.Now.IsZero() {
		if !r.Up {
			when := "never answered"
			if !r.LastGood.IsZero() {
				when = "last good " + ShortAge(o.Now.Sub(r.LastGood)) + " ago"
			}
			add("reading", when)
		} else if a := o.Now.Sub(r.At); !r.At.IsZero() && o.StaleAfter > 0 && a > o.StaleAfter {
			add("reading", ShortAge(a)+" old")
		}
	}
	if r.Err != "" && proc != ProcNone {
		out = append(out, Fact{Value: r.Err, Tone: ToneMuted})
	}
	return out
}

// Summary is the facts on one line, for transcripts and messages.
func (r Reading) Summary() string {
	var parts []string
	for _, f := range Facts(r, FactOptions{}) {
		if f.Label == "" {
			parts = append(parts, f.Value)
		} else {
			parts = append(parts, f.Label+" "+f.Value)
		}
	}
	return strings.Join(parts, ", ")
}

// ShortSource abbreviates where a timeline was read.
func ShortSource(s string) string {
	switch s {
	case SrcCurrentWAL:
		return "current WAL"
	case SrcReceiver:
		return "receiver"
	case SrcRestored:
		return "pg_wal"
	case SrcReplayedFile:
		return "replayed WAL"
	case SrcControl:
		return "controldata"
	}
	return s
}

// ShortAge is a duration as the panel says it: <1s, 12s, 3m05s.
func ShortAge(d time.Duration) string {
	if d < time.Second {
		return "<1s"
	}
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

// OrDash prints a position, or a dash when there is none.
func (l LSN) OrDash() string {
	if !l.Valid() {
		return "-"
	}
	return l.String()
}
