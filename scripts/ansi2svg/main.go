package main

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"os"
	"strconv"
	"strings"
)

const (
	cellW, cellH = 8.4, 17.0
	fontSize     = 14
	defaultFG    = "#d0d0d0"
	defaultBG    = "#1c1c1c"
)

// basic16 is the xterm palette for colours 0-15.
var basic16 = []string{"#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
	"#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff"}

func color256(n int) string {
	switch {
	case n < 16:
		return basic16[n]
	case n < 232:
		n -= 16
		lv := []int{0, 95, 135, 175, 215, 255}
		return fmt.Sprintf("#%02x%02x%02x", lv[n/36], lv[(n/6)%6], lv[n%6])
	default:
		g := 8 + (n-232)*10
		return fmt.Sprintf("#%02x%02x%02x", g, g, g)
	}
}

type style struct {
	fg, bg        string
	bold, reverse bool
}

type cell struct {
	r rune
	s style
}

// apply updates st with the SGR parameters in params.
func apply(st *style, params string) {
	ps := strings.Split(params, ";")
	for i := 0; i < len(ps); i++ {
		n, _ := strconv.Atoi(ps[i])
		switch {
		case n == 0:
			*st = style{}
		case n == 1:
			st.bold = true
		case n == 22:
			st.bold = false
		case n == 7:
			st.reverse = true
		case n == 27:
			st.reverse = false
		case n >= 30 && n <= 37:
			st.fg = basic16[n-30]
		case n >= 90 && n <= 97:
			st.fg = basic16[n-90+8]
		case n == 39:
			st.fg = ""
		case n >= 40 && n <= 47:
			st.bg = basic16[n-40]
		case n >= 100 && n <= 107:
			st.bg = basic16[n-100+8]
		case n == 49:
			st.bg = ""
		case (n == 38 || n == 48) && i+1 < len(ps):
			var c string
			if ps[i+1] == "5" && i+2 < len(ps) {
				k, _ := strconv.Atoi(ps[i+2])
				c = color256(k)
				i += 2
			} else if ps[i+1] == "2" && i+4 < len(ps) {
				r, _ := strconv.Atoi(ps[i+2])
				g, _ := strconv.Atoi(ps[i+3])
				b, _ := strconv.Atoi(ps[i+4])
				c = fmt.Sprintf("#%02x%02x%02x", r, g, b)
				i += 4
			}
			if n == 38 {
				st.fg = c
			} else {
				st.bg = c
			}
		}
	}
}

// parse splits the capture into rows of styled cells.
func parse(r io.Reader) [][]cell {
	var rows [][]cell
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var st style
	for sc.Scan() {
		var row []cell
		rs := []rune(sc.Text())
		for i := 0; i < len(rs); i++ {
			if rs[i] == 0x1b && i+1 < len(rs) && rs[i+1] == '[' {
				j := i + 2
				for j < len(rs) && !(rs[j] >= 0x40 && rs[j] <= 0x7e) {
					j++
				}
				if j < len(rs) && rs[j] == 'm' {
					apply(&st, string(rs[i+2:j]))
				}
				i = j
				continue
			}
			row = append(row, cell{rs[i], st})
		}
		rows = append(rows, row)
	}
	return rows
}

func main() {
	rows := parse(os.Stdin)
	width := 0
	for _, r := range rows {
		if len(r) > width {
			width = len(r)
		}
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	W, H := float64(width)*cellW+16, float64(len(rows))*cellH+16
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`+"\n", W, H, W, H)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="%s" rx="6"/>`+"\n", defaultBG)
	fmt.Fprintf(w, `<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="%d" xml:space="preserve">`+"\n", fontSize)
	for y, row := range rows {
		// Runs of equal style become one <text> (and one <rect> for a
		// background), which keeps the file small.
		for x := 0; x < len(row); {
			s := row[x].s
			end := x
			var b strings.Builder
			for end < len(row) && row[end].s == s {
				b.WriteRune(row[end].r)
				end++
			}
			fg, bg := s.fg, s.bg
			if fg == "" {
				fg = defaultFG
			}
			if s.reverse {
				if bg == "" {
					bg = defaultBG
				}
				fg, bg = bg, fg
			}
			px, py := 8+float64(x)*cellW, 8+float64(y)*cellH
			if bg != "" {
				fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", px, py, float64(end-x)*cellW, cellH, bg)
			}
			if t := strings.TrimRight(b.String(), " "); t != "" {
				weight := ""
				if s.bold {
					weight = ` font-weight="bold"`
				}
				fmt.Fprintf(w, `<text x="%.1f" y="%.1f" fill="%s"%s textLength="%.1f">%s</text>`+"\n", px, py+cellH-4, fg, weight, float64(len([]rune(t)))*cellW, html.EscapeString(t))
			}
			x = end
		}
	}
	fmt.Fprintln(w, "</g></svg>")
}
