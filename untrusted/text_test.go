package untrusted

import "testing"

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"plain line":                        "plain line",
		"héllo ✓":                           "héllo ✓",
		"x\x1b]0;PWNED\x07\x1b[2Jy":         "xy",
		"role \"x\x1b]0;PWNED\x07\x1b[2J\"": "role \"x\"",
		"a\x07b\x08c\x7fd\re":               "abcde",
		"a\u009b2Jb":                        "a2Jb",
		"\tcontinuation":                    "\tcontinuation",
		"\x1bPdcs\x1b\\z":                   "z",
		"bad \xff utf8":                     "bad \uFFFD utf8",
		"\x1b[31mred\x1b[0m":                "red",
		"file\u202Etxt.exe":                 "filetxt.exe",
		"zero\u200Bwidth\u200C\u200D":       "zerowidth",
		"\u2066isolate\u2069 \u2067r\u2068": "isolate r",
		"\u200Emark\u200F\uFEFF":            "mark",
		"soft\u00ADhyphen\u2060":            "softhyphen",
		"tag\U000E0041":                     "tag",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkTextPlain(b *testing.B) {
	s := "2026-11-30 09:00:00.000 UTC [1234] LOG:  database system is ready to accept connections"
	for b.Loop() {
		_ = Text(s)
	}
}
