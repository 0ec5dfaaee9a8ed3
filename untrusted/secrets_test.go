package untrusted

import (
	"strings"
	"testing"
)

func TestMaskSecrets(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"primary_conninfo = 'host=p port=5432 user=replicator password=s3cr3t application_name=replica'",
			"primary_conninfo = 'host=p port=5432 user=replicator password=" + Masked + " application_name=replica'"},
		{"primary_conninfo = '… password=postgres'", "primary_conninfo = '… password=" + Masked + "'"},
		{`primary_conninfo = 'postgresql://replicator:hunter2@primary:5432/postgres'`, `primary_conninfo = 'postgresql://replicator:` + Masked + `@primary:5432/postgres'`},
		{`  "PGPASSWORD": "pw",`, `  "PGPASSWORD": "` + Masked + `",`},
		{`  "WALG_LIBSODIUM_KEY": "0123456789abcdef0123456789abcdef",`, `  "WALG_LIBSODIUM_KEY": "` + Masked + `",`},
		{`  "WALG_PGP_KEY_PASSPHRASE": "pp", "AWS_SESSION_TOKEN": "t", "GCS_SECRET": "s"`, `  "WALG_PGP_KEY_PASSPHRASE": "` + Masked + `", "AWS_SESSION_TOKEN": "` + Masked + `", "GCS_SECRET": "` + Masked + `"`},
		{`  "AWS_SECRET_ACCESS_KEY": "abc\"def", "WALG_FILE_PREFIX": "/wal-g-storage"`, `  "AWS_SECRET_ACCESS_KEY": "` + Masked + `", "WALG_FILE_PREFIX": "/wal-g-storage"`},
		{"PGPASSWORD=hunter2 psql", "PGPASSWORD=" + Masked + " psql"},
		{"export WALG_LIBSODIUM_KEY=abc", "export WALG_LIBSODIUM_KEY=" + Masked},
		{"ssl_key_password = 'x'", "ssl_key_password = '" + Masked + "'"},
		{"alter role postgres password 'hunter2';", "alter role postgres password '" + Masked + "';"},
		{"ALTER USER app WITH ENCRYPTED PASSWORD 'it''s';", "ALTER USER app WITH ENCRYPTED PASSWORD '" + Masked + "';"},
		{"create role x login password E'a\\'b';", "create role x login password '" + Masked + "';"},
		{"create role x password $$pw$$;", "create role x password '" + Masked + "';"},
		{"password_encryption = 'scram-sha-256'", "password_encryption = 'scram-sha-256'"},
		{"FATAL:  password authentication failed for user \"postgres\"", "FATAL:  password authentication failed for user \"postgres\""},
		{"recovery_target = 'immediate'\nprimary_slot_name = 'replica'", "recovery_target = 'immediate'\nprimary_slot_name = 'replica'"},
		{"create table test (value text primary key);", "create table test (value text primary key);"},
	} {
		if got := MaskSecrets(c.in); got != c.want {
			t.Errorf("MaskSecrets(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestShownStripsThenMasks(t *testing.T) {
	in := "password\u200b='x' pass\x1b[0mword=y"
	got := Shown(in)
	if strings.ContainsAny(got, "xy\u200b\x1b") {
		t.Errorf("Shown(%q) = %q", in, got)
	}
}
