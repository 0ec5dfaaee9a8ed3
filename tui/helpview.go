package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
)

// fullHelpView renders key groups as columns packed into rows that fit
// width. bubbles' FullHelpView cuts the columns that do not fit with an
// ellipsis; here every key must show at 80 columns, so the columns wrap.
func (m Model) fullHelpView(groups [][]key.Binding, width int) string {
	const gap = "   "
	var blocks []string
	for _, g := range groups {
		var keys, descs []string
		for _, b := range g {
			if b.Enabled() {
				keys = append(keys, b.Help().Key)
				descs = append(descs, b.Help().Desc)
			}
		}
		if len(keys) == 0 {
			continue
		}
		blocks = append(blocks, lipgloss.JoinHorizontal(lipgloss.Top,
			m.help.Styles.FullKey.Render(strings.Join(keys, "\n")),
			" ",
			m.help.Styles.FullDesc.Render(strings.Join(descs, "\n"))))
	}
	var rows, row []string
	rowW := 0
	for _, b := range blocks {
		w := lipgloss.Width(b)
		if len(row) > 0 && rowW+len(gap)+w > width {
			rows = append(rows, lipgloss.JoinHorizontal(lipgloss.Top, row...))
			row, rowW = nil, 0
		}
		if len(row) > 0 {
			row = append(row, gap)
			rowW += len(gap)
		}
		row = append(row, b)
		rowW += w
	}
	if len(row) > 0 {
		rows = append(rows, lipgloss.JoinHorizontal(lipgloss.Top, row...))
	}
	return strings.Join(rows, "\n")
}
