package steps

import "testing"

// Only the seed's password is replaced by the lab's secret, wherever the
// seed's text gives it to a server; any other password stays the user's.
func TestWithSecret(t *testing.T) {
	const s = "0123456789abcdef0123456789abcdef"
	for _, c := range []struct{ in, want string }{
		{"alter user postgres encrypted password 'postgres';", "alter user postgres encrypted password '" + s + "';"},
		{"ALTER ROLE postgres PASSWORD 'postgres'", "ALTER ROLE postgres PASSWORD '" + s + "'"},
		{"primary_conninfo = 'host=primary port=5432 user=postgres password=postgres'", "primary_conninfo = 'host=primary port=5432 user=postgres password=" + s + "'"},
		{"primary_conninfo = 'user=postgres password = postgres sslmode=disable'", "primary_conninfo = 'user=postgres password = " + s + " sslmode=disable'"},
		{`psql "password='postgres' host=x"`, `psql "password='` + s + `' host=x"`},
		{"PGPASSWORD=postgres psql -h primary", "PGPASSWORD=" + s + " psql -h primary"},
		{`export PGPASSWORD="postgres"`, `export PGPASSWORD="` + s + `"`},
		{"alter user postgres password 'other';", ""},
		{"PGPASSWORD=postgresql psql", ""},
		{"primary_conninfo = 'user=postgres password=postgres2'", ""},
		{"primary_conninfo = 'user=postgres password=wrong'", ""},
		{"-- the seed's user is postgres\nselect 1;", ""},
	} {
		got, used := withSecret(c.in, s)
		want := c.want
		if want == "" {
			want = c.in
		}
		if got != want || used != (c.want != "") {
			t.Errorf("withSecret(%q) = %q, %v; want %q", c.in, got, used, want)
		}
	}
}
