package steps

import (
	"context"
	"fmt"
	"io"
	"regexp"

	"walstep/cluster"
)

// The seed's password "postgres" would let any local user log in to the
// servers (see cluster.Lab.Secret): wherever the seed's text hands it to a
// server (step 4c's ALTER USER, a conf's primary_conninfo, a hook), what
// runs carries the lab's secret instead. What is shown stays the seed's.

var (
	// password 'postgres' in SQL (ALTER USER/ROLE … [ENCRYPTED] PASSWORD).
	sqlSeedPassword = regexp.MustCompile(`(?i)(\bpassword\s+)'` + cluster.SeedPassword + `'`)
	// password=postgres in a libpq conninfo, PGPASSWORD=postgres in a
	// shell hook, quoted or not.
	conninfoSeedPassword = regexp.MustCompile(`(?i)(\b(?:PG)?password\s*=\s*)('` + cluster.SeedPassword + `'|"` + cluster.SeedPassword + `"|` + cluster.SeedPassword + `\b)`)
)

// withSecret returns text with the seed's password replaced by secret, and
// whether there was one to replace.
func withSecret(text, secret string) (string, bool) {
	out := sqlSeedPassword.ReplaceAllString(text, "${1}'"+secret+"'")
	out = conninfoSeedPassword.ReplaceAllStringFunc(out, func(m string) string {
		sub := conninfoSeedPassword.FindStringSubmatch(m)
		if q := sub[2][:1]; q == "'" || q == `"` {
			return sub[1] + q + secret + q
		}
		return sub[1] + secret
	})
	return out, out != text
}

// secretNote is the one line that says what ran with the lab's secret.
func secretNote(what string) string {
	return fmt.Sprintf("walstep: %s this lab's secret (run/%s, 0600) in place of the seed's password %s, which any local user could log in with", what, cluster.SecretFile, cluster.SeedPassword)
}

// labText is text as it should reach a server: the seed's password
// replaced by the lab's secret; the note is "" when nothing was replaced.
func labText(env *Env, text, what string) (string, string, error) {
	secret, err := env.Lab.Secret()
	if err != nil {
		return "", "", err
	}
	out, used := withSecret(text, secret)
	if !used {
		return text, "", nil
	}
	return out, secretNote(what), nil
}

// labPSQL runs sql as PSQL does; a statement that sets the seed's password
// (step 4c's ALTER USER) runs with the lab's secret instead, from a file
// only the server user can read, as hooks run, since a command line is
// visible to every local user.
func labPSQL(ctx context.Context, env *Env, node cluster.Node, sql string, out io.Writer) error {
	text, note, err := labText(env, sql, "runs the ALTER USER with")
	if err != nil {
		return err
	}
	if note == "" {
		return PSQL(ctx, env.Backend, node, sql, out)
	}
	fmt.Fprintln(out, note)
	b := env.Backend
	const name = ".walstep-password.sql"
	f := cluster.ServerFile{Area: cluster.AreaConfig, Name: name, Mode: cluster.ReplaceFile, Data: []byte(text + "\n"), Private: true}
	if err := b.WriteFile(ctx, node, f); err != nil {
		return fmt.Errorf("set the password: %w", err)
	}
	path := b.Paths(node).ConfigDir + "/" + name
	runErr := b.Exec(ctx, node, "postgres", []string{"psql", "-X", "-v", "ON_ERROR_STOP=1", "-f", path}, out)
	// The file has done its work: the secret stays only where it is used.
	f.Data = []byte("-- emptied by walstep once run\n")
	if err := b.WriteFile(ctx, node, f); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return fmt.Errorf("set the password: %w", runErr)
	}
	return nil
}
