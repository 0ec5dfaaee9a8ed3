package termdefaults

import (
	"os"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

func init() {
	lipgloss.SetHasDarkBackground(DarkBackground(os.Getenv("COLORFGBG")))
}

// DarkBackground says whether the background of a terminal that exports
// colorfgbg ("fg;bg", as rxvt and Konsole do) is dark, the way termenv
// reads it; without a usable value it says dark, the common case.
func DarkBackground(colorfgbg string) bool {
	i := strings.LastIndex(colorfgbg, ";")
	if i < 0 {
		return true
	}
	n, err := strconv.Atoi(colorfgbg[i+1:])
	if err != nil || n < 0 || n > 255 {
		return true
	}
	_, _, l := termenv.ConvertToRGB(termenv.ANSI256Color(n)).Hsl()
	return l < 0.5
}
