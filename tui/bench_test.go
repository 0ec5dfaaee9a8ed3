package tui

import (
	"fmt"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/steps"
)

// BenchmarkOutputLine is one line of live output arriving for the
// selected step that already shows n lines: what a chatty step costs.
func BenchmarkOutputLine(b *testing.B) {
	for _, n := range []int{100, 1000, steps.MaxOutputLines} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			m, _ := testModel(freshSnap())
			m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40}, eventMsg{ev: ev(steps.StepStarted, 0)})
			for i := range n {
				m = send(m, eventMsg{ev: steps.Event{Kind: steps.StepOutput, Index: 0, Line: fmt.Sprintf("line %d of a step's output, long enough to look like a real one", i)}})
			}
			b.ResetTimer()
			for range b.N {
				m = send(m, eventMsg{ev: steps.Event{Kind: steps.StepOutput, Index: 0, Line: "one more line"}})
			}
		})
	}
}

// BenchmarkView is one frame of the divergence at 120x40.
func BenchmarkView(b *testing.B) {
	m, _ := testModel(divergedSnap(clock))
	m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = polled(m, divergedSnap(clock))
	b.ResetTimer()
	for range b.N {
		_ = m.View()
	}
}
